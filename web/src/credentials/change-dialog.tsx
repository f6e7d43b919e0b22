import { useState } from "preact/hooks";
import { type Answer, api, type Member, ok } from "../app/api";
import { Dialog } from "../ui/dialog";
import { Field, FormError, SubmitButton } from "../ui/field";
import { useSubmit } from "../ui/form";

export type CredentialKind = "email" | "phone";
type Started = Answer<"startCredentialChange">;

/**
 * Change Email / Change Phone: the member confirms by a link sent to their current
 * contact, and only then does the credential change (the row updates by its event).
 */
export function ChangeCredentialDialog(props: { member: Member; kind: CredentialKind; onClose: () => void }) {
  const { member, kind } = props;
  const [value, setValue] = useState("");
  const { busy, errors, formError, run } = useSubmit();
  const [started, setStarted] = useState<Started | null>(null);
  const label = kind === "email" ? "New email" : "New phone";

  async function submit(event: Event) {
    event.preventDefault();
    const answer = await run(() =>
      ok(
        api.POST("/v1/members/{id}/credential-changes", { params: { path: { id: member.id } }, body: { kind, value } }),
      ),
    );
    if (answer) setStarted(answer);
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
          <FormError message={formError} />
          <Field
            label={label}
            name={kind}
            type={kind === "email" ? "email" : "tel"}
            required
            value={value}
            error={errors.value ?? errors[kind]}
            onInput={setValue}
          />
          <div class="dialog-actions">
            <SubmitButton busy={busy} label="Send confirmation link" busyLabel="Sending…" />
          </div>
        </form>
      )}
    </Dialog>
  );
}
