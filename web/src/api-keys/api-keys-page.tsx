import { useState } from "preact/hooks";
import type { LiveConnection } from "../live/connection";
import { NewApiKeyDialog, RevokeApiKeyDialog } from "./api-key-dialogs";
import { type ApiKey, useLiveApiKeys } from "./use-api-keys";

type Dialog = { kind: "new" } | { kind: "revoke"; apiKey: ApiKey } | null;

const date = (iso: string) =>
  new Date(iso).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });

/**
 * Settings -> API keys: the live keys the caller may act on, newest first; new (the key
 * shown once) and revoke. Another admin's keys appear and go as their events arrive.
 */
export function ApiKeysPage({ live }: { live: LiveConnection }) {
  const { keys, failure } = useLiveApiKeys(live);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [notice, setNotice] = useState("");
  const done = (text: string) => {
    setDialog(null);
    setNotice(text);
  };
  return (
    <section aria-labelledby="api-keys-title">
      <div class="page-head">
        <h1 id="api-keys-title" tabIndex={-1}>
          API keys
        </h1>
        <div class="actions">
          <button type="button" onClick={() => setDialog({ kind: "new" })}>
            New API key
          </button>
        </div>
      </div>
      <output class="notice" aria-live="polite">
        {notice}
      </output>
      {failure ? <p role="alert">{failure}</p> : null}
      {keys === null ? (
        failure ? null : (
          <p role="status">Loading…</p>
        )
      ) : keys.length === 0 ? (
        <p>No API keys yet. A key lets a server call the API as you, with at most your scopes.</p>
      ) : (
        <table class="api-keys">
          <caption class="visually-hidden">API keys, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Scopes</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.map((key) => (
              <tr key={key.id} data-key={key.id}>
                <th scope="row">{key.name}</th>
                <td>
                  <ul class="scope-list" aria-label={`Scopes of ${key.name}`}>
                    {key.scopes.map((s) => (
                      <li key={s}>
                        <code>{s}</code>
                      </li>
                    ))}
                  </ul>
                </td>
                <td>
                  <time dateTime={key.createdAt}>{date(key.createdAt)}</time>
                </td>
                <td>
                  <time dateTime={key.expiresAt}>{date(key.expiresAt)}</time>
                </td>
                <td class="row-actions">
                  <button
                    type="button"
                    class="secondary"
                    aria-label={`Revoke API key ${key.name}`}
                    onClick={() => setDialog({ kind: "revoke", apiKey: key })}
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {dialog?.kind === "new" ? (
        <NewApiKeyDialog onClose={() => setDialog(null)} onDone={(name) => done(`Created API key ${name}.`)} />
      ) : null}
      {dialog?.kind === "revoke" ? (
        <RevokeApiKeyDialog apiKey={dialog.apiKey} onClose={() => setDialog(null)} onDone={done} />
      ) : null}
    </section>
  );
}
