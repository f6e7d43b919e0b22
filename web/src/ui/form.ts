import { useState } from "preact/hooks";
import { ApiError, errorMessage } from "../app/api";

/**
 * A form's own message for an API error: a string to show, null when the form handled it
 * (e.g. it shows another screen), undefined for the usual handling.
 */
export type Explain = (error: ApiError) => string | null | undefined;

/**
 * Submitting state plus the API's answer split into field errors (tied to their fields)
 * and a form error: the one way every form and dialog submits. Focus moves to the first
 * invalid field, so keyboard and screen-reader users land on it.
 */
export function useSubmit() {
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  async function run<T>(work: () => Promise<T>, explain?: Explain): Promise<T | null> {
    setBusy(true);
    setErrors({});
    setFormError(null);
    try {
      return await work();
    } catch (error) {
      const own = error instanceof ApiError ? explain?.(error) : undefined;
      const fields = error instanceof ApiError ? error.fieldErrors() : {};
      if (own !== undefined) setFormError(own);
      else if (Object.keys(fields).length > 0) {
        setErrors(fields);
        setFormError("Please correct the highlighted fields.");
        requestAnimationFrame(() => firstInvalid()?.focus());
      } else setFormError(errorMessage(error));
      return null;
    } finally {
      setBusy(false);
    }
  }
  return { busy, errors, formError, run };
}

/** The first invalid field of the open dialog, else of the page. */
const firstInvalid = () =>
  document.querySelector<HTMLElement>("dialog[open] [aria-invalid=true]") ??
  document.querySelector<HTMLElement>("[aria-invalid=true]");
