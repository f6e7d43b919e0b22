/** What replaces each link or token in a message shown to a caller who may not follow it. */
export const LINK_REMOVED = "[link removed]";

/** Any URL with a scheme (`https://…`, `ftp://…`) or starting `www.`, to the next space. */
const URL = /\b(?:[a-z][a-z0-9+.-]*:\/\/|www\.)[^\s<>"]+/gi;
/**
 * A token this service issues (`lms_…`, `lmi_…`, `lmx_…`, a key `lmk_…`), also outside a URL:
 * its routing part and its secret after the "." (worker/shards/tokens.ts), or a legacy one.
 */
const TOKEN = /\blm[a-z]_[A-Za-z0-9_-]{16,}(?:\.[A-Za-z0-9_-]+)?/g;

/** The text with its links and tokens replaced by LINK_REMOVED, the rest as it was. */
export const removeLinks = (text: string) => text.replace(URL, LINK_REMOVED).replace(TOKEN, LINK_REMOVED);
