import { useEffect, useRef, useState } from "preact/hooks";
import { type Answer, ApiError, api, errorMessage, type Member, ok } from "../app/api";
import { fragmentToken } from "../app/router";

/** What the link would change: `POST /v1/credential-changes/preview`. */
type PendingChange = Answer<"previewCredentialChange">;

const refusal = (error: unknown) => {
  if (error instanceof ApiError && error.status === 410) return "This link has expired. Ask for a new one.";
  if (error instanceof ApiError && (error.status === 409 || error.status === 404)) return error.message;
  return errorMessage(error);
};

/**
 * /credential-change#token=...: the member reviews a new email or phone and confirms it.
 * Opening the page only reads what the link would change; the change happens when the
 * member presses Confirm, so a mail scanner that opens links (JavaScript included)
 * changes nothing.
 */
export function ConfirmCredentialPage() {
  const [token] = useState(fragmentToken);
  const [pending, setPending] = useState<PendingChange | null>(null);
  const [member, setMember] = useState<Member | null>(null);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(token ? null : "This page needs the link from your message.");
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    if (!token) return;
    history.replaceState(null, "", "/credential-change");
    ok(api.POST("/v1/credential-changes/preview", { body: { token } }))
      .then(setPending)
      .catch((error: unknown) => setFailure(refusal(error)));
  }, [token]);

  async function confirm() {
    if (!token) return;
    setBusy(true);
    try {
      const answer = await ok(api.POST("/v1/credential-changes/confirm", { body: { token } }));
      setMember(answer.member);
    } catch (error) {
      setFailure(refusal(error));
    } finally {
      setBusy(false);
      requestAnimationFrame(() => heading.current?.focus());
    }
  }

  if (failure) {
    return (
      <main class="narrow">
        <h1 ref={heading} tabIndex={-1}>
          We could not confirm this change
        </h1>
        <p role="alert" class="form-error">
          {failure}
        </p>
      </main>
    );
  }
  if (member) {
    return (
      <main class="narrow">
        <h1 ref={heading} tabIndex={-1}>
          Change confirmed
        </h1>
        <p role="status" class="success">
          Thanks, {member.name}. Your contact details are now{" "}
          {[member.email, member.phone].filter(Boolean).join(" and ")}.
        </p>
      </main>
    );
  }
  if (!pending) {
    return (
      <main class="narrow">
        <h1 tabIndex={-1}>Checking your link</h1>
        <p role="status">One moment…</p>
      </main>
    );
  }
  const what = pending.kind === "email" ? "email address" : "phone number";
  return (
    <main class="narrow">
      <h1 tabIndex={-1}>Confirm your new {what}</h1>
      <p>Nothing changes until you press Confirm.</p>
      <dl class="change-summary">
        <dt>Current {what}</dt>
        <dd>{pending.oldValue ?? "None"}</dd>
        <dt>New {what}</dt>
        <dd>{pending.newValue}</dd>
      </dl>
      <p class="hint">
        This link works until {new Date(pending.expiresAt).toLocaleString()}. If you did not ask for this change, close
        this page: nothing changes.
      </p>
      <button type="button" onClick={confirm} disabled={busy}>
        {busy ? "Confirming…" : "Confirm"}
      </button>
    </main>
  );
}
