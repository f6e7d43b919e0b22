import { useEffect, useState } from "preact/hooks";
import { type Answer, api, errorMessage, type Member, ok } from "../app/api";
import { Dialog } from "../ui/dialog";
import { FormError } from "../ui/field";

type Preview = Answer<"previewMemberResolve">;

/** Resolve an anonymous member: search and pick the real member, see what moves, confirm. */
export function ResolveDialog(props: { member: Member; onClose: () => void; onDone: (target: Member) => void }) {
  const { member } = props;
  const [q, setQ] = useState("");
  const [results, setResults] = useState<Member[]>([]);
  const [target, setTarget] = useState<Member | null>(null);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const timer = setTimeout(() => {
      const search = q.trim();
      // A history may go to an active member or to one invited who has not joined yet.
      const page = (status: "active" | "invited") =>
        ok(api.GET("/v1/members", { params: { query: { status, q: search || undefined, limit: 10 } } }));
      Promise.all([page("active"), page("invited")])
        .then(([active, invited]) => setResults([...active.data, ...invited.data]))
        .catch((error: unknown) => setFailure(errorMessage(error)));
    }, 200);
    return () => clearTimeout(timer);
  }, [q]);

  useEffect(() => {
    setPreview(null);
    if (!target) return;
    ok(
      api.GET("/v1/members/{id}/resolve-preview", {
        params: { path: { id: member.id }, query: { targetId: target.id } },
      }),
    )
      .then(setPreview)
      .catch((error: unknown) => setFailure(errorMessage(error)));
  }, [member.id, target]);

  async function resolve(event: Event) {
    event.preventDefault();
    if (!target) return;
    setBusy(true);
    setFailure(null);
    try {
      const answer = await ok(
        api.POST("/v1/members/{id}/resolve", { params: { path: { id: member.id } }, body: { targetId: target.id } }),
      );
      props.onDone(answer.member);
    } catch (error) {
      setFailure(errorMessage(error));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog title={`Resolve ${member.name}`} onClose={props.onClose}>
      <form onSubmit={resolve}>
        <p class="hint">Pick the real member this anonymous contact is. Their conversation history moves there.</p>
        <FormError message={failure} />
        <div class="field">
          <label for="resolve-search">Find the member</label>
          <input
            id="resolve-search"
            type="search"
            value={q}
            placeholder="Name, email or phone"
            onInput={(e) => setQ((e.target as HTMLInputElement).value)}
          />
        </div>
        <fieldset class="choices">
          <legend>Members</legend>
          {results.length === 0 ? <p class="empty">No members match.</p> : null}
          {results.map((m) => (
            <label key={m.id} class="choice">
              <input
                type="radio"
                name="target"
                value={m.id}
                checked={target?.id === m.id}
                onInput={() => setTarget(m)}
              />
              {m.name} <span class="subtle">{m.email ?? m.phone ?? ""}</span>
              {m.status === "invited" ? <span class="subtle"> · invited</span> : null}
            </label>
          ))}
        </fieldset>
        {preview ? (
          <p role="status" class="notice">
            {preview.messages.count} message{preview.messages.count === 1 ? "" : "s"}
            {preview.identifier ? ` from ${preview.identifier}` : ""} will move to {preview.target.name}, who will then
            have {preview.targetMessagesAfter}.
          </p>
        ) : null}
        <div class="dialog-actions">
          <button type="submit" disabled={!preview || busy}>
            {busy ? "Resolving…" : "Resolve"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
