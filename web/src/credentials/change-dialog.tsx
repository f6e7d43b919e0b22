import { useState } from "preact/hooks";
import { type Answer, ApiError, api, errorMessage, type Member, ok } from "../app/api";
import { Dialog } from "../ui/dialog";
import { Field, FormError } from "../ui/field";

export type CredentialKind = "email" | "phone";
type Started = Answer<"startCredentialChange">;

/**
 * Change Email / Change Phone: the member confirms by a link sent to their current
 * contact, and only then does the credential change (the row updates by its event).
 */
export function ChangeCredentialDialog(props: { member: Member; kind: CredentialKind; onClose: () => void }) {
  const { member, kind } = props;
  const [value, setValue] = useState("");
  const [error, setError] = useState<string | undefined>();
  const [failure, setFailure] = useState<string | null>(null);
  const [started, setStarted] = useState<Started | null>(null);
  const [busy, setBusy] = useState(false);
  const label = kind === "email" ? "New email" : "New phone";

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setFailure(null);
    try {
      setStarted(
        await ok(
          api.POST("/v1/members/{id}/credential-changes", {
            params: { path: { id: member.id } },
            body: { kind, value },
          }),
        ),
      );
    } catch (e) {
      const fields = e instanceof ApiError ? e.fieldErrors() : {};
      const message = fields.value ?? fields[kind];
      if (message) {
        setError(message);
        requestAnimationFrame(() => document.querySelector<HTMLElement>("dialog [aria-invalid=true]")?.focus());
      } else setFailure(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog title={`Change ${kind === "email" ? "Email" : "Phone"} for ${member.name}`} onClose={props.onClose}>
      {started ? (
        <div>
          <p role="status" class="success">
            A confirmation link went to {member.name}'s current {started.sentTo === "sms" ? "phone" : "email"}.
          </p>
          <p class="hint">
            The {kind} changes once they confirm. The link expires {new Date(started.expiresAt).toLocaleString()}.
          </p>
          <div class="dialog-actions">
            <button type="button" onClick={props.onClose}>
              Done
            </button>
          </div>
        </div>
      ) : (
        <form onSubmit={submit} noValidate>
          <p class="hint">
            Current {kind}: {(kind === "email" ? member.email : member.phone) ?? "none"}. The member confirms the change
            by a link sent to their current contact.
          </p>
          <FormError message={failure} />
          <Field
            label={label}
            name={kind}
            type={kind === "email" ? "email" : "tel"}
            required
            value={value}
            error={error}
            onInput={setValue}
          />
          <div class="dialog-actions">
            <button type="submit" disabled={busy}>
              {busy ? "Sending…" : "Send confirmation link"}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
