import { useEffect, useState } from "preact/hooks";
import { ApiError, api, errorMessage, type Member, ok } from "../app/api";
import { fragmentToken } from "../app/router";

/** /join#token=...: the invitation link; accepting activates the member and signs them in. */
export function AcceptInvitationPage() {
  const [token] = useState(fragmentToken);
  const [member, setMember] = useState<Member | null>(null);
  const [failure, setFailure] = useState<string | null>(
    token ? null : "This page needs the link from your invitation email.",
  );

  useEffect(() => {
    if (!token) return;
    history.replaceState(null, "", "/join");
    ok(api.POST("/v1/invitations/accept", { body: { token } }))
      .then((answer) => setMember(answer.member))
      .catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 410)
          setFailure("This invitation has expired. Ask the workspace's admins to resend it.");
        else if (error instanceof ApiError && error.status === 409)
          setFailure("This invitation was already used or was revoked.");
        else setFailure(errorMessage(error));
      });
  }, [token]);

  return (
    <main class="narrow">
      {failure ? (
        <>
          <h1 tabIndex={-1}>We could not accept this invitation</h1>
          <p role="alert" class="form-error">
            {failure}
          </p>
        </>
      ) : member ? (
        <>
          <h1 tabIndex={-1}>Welcome, {member.name}</h1>
          <p role="status" class="success">
            You have joined the workspace and are signed in.
          </p>
          {member.type === "team" ? (
            <p>
              <a href="/members">Open the workspace</a>
            </p>
          ) : null}
        </>
      ) : (
        <>
          <h1 tabIndex={-1}>Accepting your invitation</h1>
          <p role="status">One moment…</p>
        </>
      )}
    </main>
  );
}
