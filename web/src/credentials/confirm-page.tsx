import { useEffect, useState } from "preact/hooks";
import { ApiError, api, errorMessage, type Member } from "../app/api";
import { fragmentToken } from "../app/router";

/** /credential-change#token=...: the member confirms a new email or phone. */
export function ConfirmCredentialPage() {
  const [token] = useState(fragmentToken);
  const [member, setMember] = useState<Member | null>(null);
  const [failure, setFailure] = useState<string | null>(token ? null : "This page needs the link from your message.");

  useEffect(() => {
    if (!token) return;
    history.replaceState(null, "", "/credential-change");
    api<{ member: Member }>("POST", "/v1/credential-changes/confirm", { token })
      .then((answer) => setMember(answer.member))
      .catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 410) setFailure("This link has expired. Ask for a new one.");
        else if (error instanceof ApiError && error.status === 409) setFailure(error.message);
        else setFailure(errorMessage(error));
      });
  }, [token]);

  return (
    <main class="narrow">
      {failure ? (
        <>
          <h1 tabIndex={-1}>We could not confirm this change</h1>
          <p role="alert" class="form-error">
            {failure}
          </p>
        </>
      ) : member ? (
        <>
          <h1 tabIndex={-1}>Change confirmed</h1>
          <p role="status" class="success">
            Thanks, {member.name}. Your contact details are now{" "}
            {[member.email, member.phone].filter(Boolean).join(" and ")}.
          </p>
        </>
      ) : (
        <>
          <h1 tabIndex={-1}>Confirming your change</h1>
          <p role="status">One moment…</p>
        </>
      )}
    </main>
  );
}
