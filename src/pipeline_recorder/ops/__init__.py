"""Operations on the store: verify and repair, retention, export and import."""
