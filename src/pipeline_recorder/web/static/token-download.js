// What the run page's two downloads that may need the server's token share -- download.js (the run as a zip) and
// session-export.js (the runs of its session): the request with this tab's token and what its answer shows, in the
// box's message line, error line and token form (the page template makes them with one macro: ids PREFIX-message,
// PREFIX-error, PREFIX-token-form, PREFIX-token), and saving an answer fetched into memory as a file (a link cannot
// send the token's header).

import { authHeaders, errorFrom, getToken, setToken } from "./api.js";
import { t } from "./i18n.js";

/** One download box: `prefix` names its elements, `texts` its messages (TEXTS.preparing, .tokenRefused, .failed). */
export class TokenDownload {
  /** `container`, when given, is hidden while the box has nothing to show. */
  constructor(prefix, texts, { container = null } = {}) {
    this.note = document.getElementById(`${prefix}-message`);
    this.errorBox = document.getElementById(`${prefix}-error`);
    this.tokenForm = document.getElementById(`${prefix}-token-form`);
    this.tokenInput = document.getElementById(`${prefix}-token`);
    this.texts = texts;
    this.container = container;
  }

  /** Show `message` and `error` (either may be empty). */
  say(message, error = "") {
    this.note.textContent = message;
    this.errorBox.textContent = error;
    this.errorBox.hidden = !error;
    if (this.container) this.container.hidden = !message && !error && this.tokenForm.hidden;
  }

  /**
   * GET (or `method(token)`) `url` with this tab's token and hand an ok answer to `use(response, token)`, whose
   * result is the message then shown. A 401 shows the token form (saying the token was refused when one was sent);
   * any other refusal, and any failure on the way, shows TEXTS.failed with what went wrong.
   */
  async fetchAndUse(url, use, method = () => "GET") {
    const token = getToken();
    this.say(t(`${this.texts}.preparing`));
    try {
      const response = await fetch(url, { method: method(token), headers: authHeaders(), cache: "no-store" });
      if (response.status === 401) {
        this.tokenForm.hidden = false;
        this.say("", token ? t(`${this.texts}.tokenRefused`) : "");
        this.tokenInput.focus();
        return;
      }
      if (!response.ok) {
        this.say("", t(`${this.texts}.failed`, { message: (await errorFrom(response)).message }));
        return;
      }
      const done = await use(response, token);
      this.tokenForm.hidden = true;
      this.say(done);
    } catch (error) {
      this.say("", t(`${this.texts}.failed`, { message: error.message }));
    }
  }

  /** When a token is entered: keep it for this tab (api.js) and call `retry` (wire this once). */
  onToken(retry) {
    this.tokenForm.addEventListener("submit", (event) => {
      event.preventDefault();
      setToken(this.tokenInput.value.trim());
      this.tokenInput.value = "";
      retry();
    });
  }
}

/** Save a fetched answer's bytes as the file `name`, as if its link had been followed. */
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const anchor = document.createElement("a");
  anchor.href = url;
  anchor.download = name;
  anchor.hidden = true;
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
