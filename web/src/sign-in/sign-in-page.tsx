import { useEffect, useState } from "preact/hooks";
import { ApiError, api, errorMessage, ok } from "../app/api";
import { fragmentToken, navigate } from "../app/router";
import { Field, FormError, SubmitButton } from "../ui/field";
import { useSubmit } from "../ui/form";

/**
 * /sign-in asks for a link by email; /sign-in#token=... (the emailed link) redeems it,
 * which sets the session cookie, and opens the admin view.
 */
export function SignInPage() {
  const [token] = useState(fragmentToken);
  return token ? <Verify token={token} /> : <RequestLink />;
}

function Verify({ token }: { token: string }) {
  const [failure, setFailure] = useState<string | null>(null);
  useEffect(() => {
    // The token is single-use: drop it from the address bar and history before redeeming.
    history.replaceState(null, "", "/sign-in");
    ok(api.POST("/v1/auth/verify", { body: { token } }))
      .then(() => navigate("/members"))
      .catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 410)
          setFailure("This sign-in link has expired. Ask for a new one.");
        else if (error instanceof ApiError && error.status === 409)
          setFailure("This sign-in link was already used. Ask for a new one.");
        else setFailure(errorMessage(error));
      });
  }, [token]);
  return (
    <main class="narrow">
      <h1 tabIndex={-1}>Signing you in</h1>
      {failure ? (
        <>
          <p role="alert" class="form-error">
            {failure}
          </p>
          <p>
            <a href="/sign-in">Ask for a new sign-in link</a>
          </p>
        </>
      ) : (
        <p role="status">Checking your link…</p>
      )}
    </main>
  );
}

function RequestLink() {
  const [workspace, setWorkspace] = useState(new URLSearchParams(location.search).get("workspace") ?? "");
  const [email, setEmail] = useState("");
  const { busy, errors, formError, run } = useSubmit();
  const [sent, setSent] = useState<string | null>(null);

  async function submit(event: Event) {
    event.preventDefault();
    const answer = await run(() => ok(api.POST("/v1/auth/login", { body: { workspace, email } })));
    if (answer) setSent(answer.message);
  }

  if (sent) {
    return (
      <main class="narrow">
        <h1 tabIndex={-1}>Check your email</h1>
        <p role="status">{sent}</p>
        <p class="hint">The link works once and expires soon. Running locally? It is in the outbox.</p>
      </main>
    );
  }
  return (
    <main class="narrow">
      <h1 tabIndex={-1}>Sign in</h1>
      <p>We will email you a sign-in link.</p>
      <form onSubmit={submit} noValidate>
        <FormError message={formError} />
        <Field
          label="Workspace"
          name="workspace"
          required
          hint="Your workspace's short name, e.g. acme"
          value={workspace}
          error={errors.workspace}
          onInput={setWorkspace}
        />
        <Field
          label="Email"
          name="email"
          type="email"
          required
          autoComplete="email"
          value={email}
          error={errors.email}
          onInput={setEmail}
        />
        <SubmitButton busy={busy} label="Email me a sign-in link" busyLabel="Sending…" />
      </form>
    </main>
  );
}
