import type { ComponentChildren } from "preact";
import { useId } from "preact/hooks";

type FieldProps = {
  label: string;
  name: string;
  error?: string;
  hint?: string;
  children?: never;
  type?: "text" | "email" | "tel" | "color" | "number" | "password";
  /** Bounds of a number field. */
  min?: number;
  max?: number;
  placeholder?: string;
  /** A multi-line field (a textarea) of this many rows. */
  rows?: number;
  value: string;
  required?: boolean;
  autoComplete?: string;
  onInput: (value: string) => void;
};

/** A labelled input whose API error is tied to it with aria-describedby / aria-invalid. */
export function Field(props: FieldProps) {
  const id = useId();
  const describedBy = [props.error ? `${id}-error` : "", props.hint ? `${id}-hint` : ""].filter(Boolean).join(" ");
  return (
    <div class="field">
      <label for={id}>
        {props.label}
        {props.required ? <span aria-hidden="true"> *</span> : null}
      </label>
      {props.rows ? (
        <textarea
          id={id}
          name={props.name}
          rows={props.rows}
          value={props.value}
          required={props.required}
          aria-invalid={props.error ? "true" : undefined}
          aria-describedby={describedBy || undefined}
          onInput={(event) => props.onInput((event.target as HTMLTextAreaElement).value)}
        />
      ) : (
        <input
          id={id}
          name={props.name}
          // preact types each input type apart (its roles); every one here is a plain textbox-like input.
          type={(props.type ?? "text") as "text"}
          list={undefined}
          value={props.value}
          min={props.min}
          max={props.max}
          placeholder={props.placeholder}
          required={props.required}
          autoComplete={props.autoComplete}
          aria-invalid={props.error ? "true" : undefined}
          aria-describedby={describedBy || undefined}
          onInput={(event) => props.onInput((event.target as HTMLInputElement).value)}
        />
      )}
      {props.hint ? (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      ) : null}
      {props.error ? (
        <p class="field-error" id={`${id}-error`}>
          {props.error}
        </p>
      ) : null}
    </div>
  );
}

export function SelectField(props: {
  label: string;
  name: string;
  value: string;
  error?: string;
  onInput: (value: string) => void;
  children: ComponentChildren;
}) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select
        id={id}
        name={props.name}
        value={props.value}
        aria-invalid={props.error ? "true" : undefined}
        aria-describedby={props.error ? `${id}-error` : undefined}
        onInput={(event) => props.onInput((event.target as HTMLSelectElement).value)}
      >
        {props.children}
      </select>
      {props.error ? (
        <p class="field-error" id={`${id}-error`}>
          {props.error}
        </p>
      ) : null}
    </div>
  );
}

/** A form's submit button, which says it is working while the request runs. */
export function SubmitButton(props: { busy: boolean; label: string; busyLabel?: string }) {
  return (
    <button type="submit" disabled={props.busy}>
      {props.busy ? (props.busyLabel ?? "Saving…") : props.label}
    </button>
  );
}

/** A form-level error (not tied to one field), announced when it appears. */
export function FormError({ message }: { message: string | null }) {
  return message ? (
    <p class="form-error" role="alert">
      {message}
    </p>
  ) : null;
}
