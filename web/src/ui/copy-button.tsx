import { useEffect, useState } from "preact/hooks";

/**
 * Copies `text` to the clipboard (navigator.clipboard). Its accessible name says what it
 * copies; "Copied" (or the failure) is announced in a polite live region beside it.
 */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [said, setSaid] = useState("");
  useEffect(() => {
    if (!said) return;
    const clear = setTimeout(() => setSaid(""), 4000);
    return () => clearTimeout(clear);
  }, [said]);
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setSaid("Copied");
    } catch {
      setSaid("Could not copy: select the text and copy it yourself.");
    }
  }
  return (
    <span class="copy">
      <button type="button" class="secondary" aria-label={label} onClick={copy}>
        Copy
      </button>
      <output class="copy-status" aria-live="polite">
        {said}
      </output>
    </span>
  );
}
