import { render } from "preact";
import { useEffect } from "preact/hooks";
import { AdminApp } from "./app/admin";
import { usePath } from "./app/router";
import { ConfirmCredentialPage } from "./credentials/confirm-page";
import { AcceptInvitationPage } from "./join/accept-page";
import { JoinPage } from "./join/join-page";
import { SignInPage } from "./sign-in/sign-in-page";

function App() {
  const { path, hash } = usePath();
  useEffect(() => {
    // After a client-side navigation, focus the new page's heading so screen readers announce it.
    document.querySelector<HTMLElement>("main h1")?.focus();
  }, [path]);
  // Keyed by the fragment: opening another #token= link in this tab starts over.
  if (path === "/sign-in") return <SignInPage key={hash} />;
  const join = /^\/join\/([^/]+)\/?$/.exec(path);
  if (join?.[1]) return <JoinPage slug={decodeURIComponent(join[1])} />;
  if (path === "/join") return <AcceptInvitationPage key={hash} />;
  if (path === "/credential-change") return <ConfirmCredentialPage key={hash} />;
  return <AdminApp path={path} />;
}

const root = document.getElementById("app");
if (root) {
  root.textContent = "";
  render(<App />, root);
}
