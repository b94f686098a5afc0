// What the runs list shows of a run's media output: the server's thumbnail of its image, the poster of its video
// (both WebP from /thumbnail/, made once by the server), or for audio an icon and its duration (read by the
// browser from the file's header: preload="metadata" asks for the first bytes only). A thumbnail the server cannot
// make (a video on a server without PyAV, a refused image) falls back to the kind's icon.

import { fileUrl, thumbnailUrl } from "./api.js";
import { h } from "./dom.js";
import { formatDuration, t } from "./i18n.js";

const KINDS = { output_image: "image", output_video: "video", output_audio: "audio" };
const ICONS = { image: "▣", video: "▶", audio: "♪" };
const durations = new Map(); // "run/file" -> seconds, so a redraw does not ask again

/** The run's media output to show ({kind, filename}), or null: the last image, video or audio output. */
export function mediaOf(entities) {
  const media = entities.filter((e) => KINDS[e.type]);
  const last = media[media.length - 1];
  return last ? { kind: KINDS[last.type], filename: last.filename } : null;
}

function icon(kind, label) {
  return h("span", { class: `media-icon media-${kind}`, role: "img", "aria-label": label },
    h("span", { "aria-hidden": "true", text: ICONS[kind] }));
}

function audioCell(runId, media) {
  const key = `${runId}/${media.filename}`;
  const length = h("span", { class: "media-duration" });
  const show = (seconds) => {
    length.textContent = formatDuration(seconds * 1000);
  };
  if (durations.has(key)) {
    show(durations.get(key));
  } else {
    const probe = h("audio", { preload: "metadata" });
    probe.addEventListener("loadedmetadata", () => {
      if (!Number.isFinite(probe.duration)) return;
      durations.set(key, probe.duration);
      show(probe.duration);
      probe.removeAttribute("src");
    }, { once: true });
    probe.src = fileUrl(runId, media.filename);
  }
  return h("span", { class: "media media-audio-cell" }, icon("audio", t("media.audio")), length);
}

/** The cell content for a run's media output (null when it has none). */
export function mediaCell(runId, media) {
  if (!media) return null;
  if (media.kind === "audio") return audioCell(runId, media);
  const label = t(`media.${media.kind}`);
  const wrap = h("span", { class: `media media-${media.kind}-cell` });
  const picture = h("img", {
    class: "thumb", src: thumbnailUrl(runId, media.filename), alt: label, width: 64, height: 64, loading: "lazy",
    decoding: "async",
    onerror: () => picture.replaceWith(icon(media.kind, label)),
  });
  wrap.append(picture);
  if (media.kind === "video") wrap.append(h("span", { class: "media-play", "aria-hidden": "true", text: "▶" }));
  return wrap;
}
