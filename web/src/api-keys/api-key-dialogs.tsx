import { useEffect, useState } from "preact/hooks";
import { api, ok } from "../app/api";
import { ConfirmDialog } from "../ui/confirm-dialog";
import { CopyButton } from "../ui/copy-button";
import { Dialog } from "../ui/dialog";
import { Field, FormError, SubmitButton } from "../ui/field";
import { useSubmit } from "../ui/form";
import type { ApiKey } from "./use-api-keys";

/** The caller's own scopes (GET /v1/api-keys/scopes): a key never holds more. */
function useOwnScopes() {
  const [scopes, setScopes] = useState<string[] | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  useEffect(() => {
    ok(api.GET("/v1/api-keys/scopes"))
      .then((answer) => setScopes(answer.scopes))
      .catch((error: unknown) => setFailure(error instanceof Error ? error.message : "Your scopes could not be read."));
  }, []);
  return { scopes, failure };
}

/** New API key: a name, scopes among the caller's own, an expiry; then the key, shown this once. */
export function NewApiKeyDialog(props: { onClose: () => void; onDone: (name: string) => void }) {
  const own = useOwnScopes();
  const [name, setName] = useState("");
  const [days, setDays] = useState("90");
  const [unticked, setUnticked] = useState<ReadonlySet<string>>(new Set());
  const [created, setCreated] = useState<(ApiKey & { key: string }) | null>(null);
  const { busy, errors, formError, run } = useSubmit();
  const chosen = (own.scopes ?? []).filter((s) => !unticked.has(s));
  // The submit button is gone once the key shows: focus goes to the key, selected to copy.
  useEffect(() => {
    if (!created) return;
    const field = document.getElementById("new-api-key") as HTMLInputElement | null;
    field?.focus();
    field?.select();
  }, [created]);

  async function submit(event: Event) {
    event.preventDefault();
    const expiresInDays = Number(days);
    const done = await run(() =>
      ok(
        api.POST("/v1/api-keys", {
          // A value that is no whole number goes as it is: the API's message lands on the field.
          body: { name, scopes: chosen as never, expiresInDays: days.trim() === "" ? (days as never) : expiresInDays },
        }),
      ),
    );
    if (done) setCreated(done);
  }

  if (created) {
    return (
      <Dialog title={`API key ${created.name} created`} onClose={() => props.onDone(created.name)}>
        <p>Copy the key now: it is shown this once and cannot be read again.</p>
        <div class="field">
          <label for="new-api-key">The new key</label>
          <div class="copy-row">
            <input id="new-api-key" readOnly value={created.key} class="secret" />
            <CopyButton text={created.key} label="Copy the new key" />
          </div>
        </div>
        <div class="dialog-actions">
          <button type="button" onClick={() => props.onDone(created.name)}>
            Done
          </button>
        </div>
      </Dialog>
    );
  }
  const toggle = (scope: string, on: boolean) =>
    setUnticked((current) => {
      const next = new Set(current);
      if (on) next.delete(scope);
      else next.add(scope);
      return next;
    });
  return (
    <Dialog title="New API key" onClose={props.onClose}>
      <form onSubmit={submit} noValidate>
        <FormError message={formError ?? own.failure} />
        <Field label="Name" name="name" required value={name} error={errors.name} onInput={setName} />
        <fieldset class="scopes" aria-describedby={errors.scopes ? "scopes-error" : undefined}>
          <legend>Scopes (at most your own)</legend>
          {own.scopes === null && !own.failure ? <p role="status">Loading your scopes…</p> : null}
          {(own.scopes ?? []).map((scope) => (
            <label key={scope} class="checkbox">
              <input
                type="checkbox"
                name="scopes"
                value={scope}
                checked={!unticked.has(scope)}
                onChange={(event) => toggle(scope, (event.target as HTMLInputElement).checked)}
              />
              <code>{scope}</code>
            </label>
          ))}
          {errors.scopes ? (
            <p class="field-error" id="scopes-error">
              {errors.scopes}
            </p>
          ) : null}
        </fieldset>
        <Field
          label="Expires in (days, 1 to 365)"
          name="expiresInDays"
          type="number"
          min={1}
          max={365}
          required
          value={days}
          error={errors.expiresInDays}
          onInput={setDays}
        />
        <div class="dialog-actions">
          <SubmitButton busy={busy} label="Create key" busyLabel="Creating…" />
        </div>
      </form>
    </Dialog>
  );
}

/** Revoke an API key: whatever uses it is refused from the next request. */
export function RevokeApiKeyDialog(props: { apiKey: ApiKey; onClose: () => void; onDone: (notice: string) => void }) {
  const { apiKey } = props;
  return (
    <ConfirmDialog
      title={`Revoke API key ${apiKey.name}?`}
      confirm="Revoke key"
      busyLabel="Revoking…"
      act={() => ok(api.DELETE("/v1/api-keys/{id}", { params: { path: { id: apiKey.id } } }))}
      onClose={props.onClose}
      onDone={() => props.onDone(`Revoked API key ${apiKey.name}.`)}
    >
      <p>Whatever uses this key is refused from its next request. This cannot be undone.</p>
    </ConfirmDialog>
  );
}
