import { useEffect, useMemo, useState } from "preact/hooks";
import { InvitationsPage } from "../invitations/invitations-page";
import { LiveConnection } from "../live/connection";
import { LiveIndicator } from "../live/indicator";
import { MembersPage } from "../members/members-page";
import { ApiError, allPages, api, type Label, ok, type Role, type Workspace } from "./api";
import { navigate } from "./router";

export type Directory = { workspace: Workspace; roles: Role[]; labels: Label[] };

const allRoles = () => allPages((cursor) => ok(api.GET("/v1/roles", { params: { query: { limit: 100, cursor } } })));
const allLabels = () => allPages((cursor) => ok(api.GET("/v1/labels", { params: { query: { limit: 100, cursor } } })));

function NavLink({ href, current, children }: { href: string; current: boolean; children: string }) {
  return (
    <a
      href={href}
      aria-current={current ? "page" : undefined}
      onClick={(event) => {
        event.preventDefault();
        navigate(href);
      }}
    >
      {children}
    </a>
  );
}

/** The signed-in admin view: People -> Members and Settings -> Invitations over one live stream. */
export function AdminApp({ path }: { path: string }) {
  const [directory, setDirectory] = useState<Directory | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const live = useMemo(() => new LiveConnection(() => navigate("/sign-in")), []);

  useEffect(() => {
    Promise.all([ok(api.GET("/v1/workspace")), allRoles(), allLabels()])
      .then(([workspace, roles, labels]) => {
        setDirectory({ workspace, roles, labels });
        live.start();
      })
      .catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 401) navigate("/sign-in");
        else setFailure(error instanceof Error ? error.message : "The workspace could not be loaded.");
      });
    return () => live.stop();
  }, [live]);

  // New, edited and deleted labels arrive as events too: keep the filter's choices current.
  useEffect(
    () =>
      live.onEvent((event) => {
        if (event.type !== "label.created" && event.type !== "label.updated" && event.type !== "label.deleted") return;
        allLabels()
          .then((labels) => setDirectory((d) => (d ? { ...d, labels } : d)))
          .catch(() => {});
      }),
    [live],
  );

  async function signOut() {
    live.stop();
    await ok(api.POST("/v1/auth/logout")).catch(() => {});
    navigate("/sign-in");
  }

  if (failure) {
    return (
      <main class="narrow">
        <h1 tabIndex={-1}>Something went wrong</h1>
        <p role="alert">{failure}</p>
      </main>
    );
  }
  if (!directory) {
    return (
      <main class="narrow" aria-busy="true">
        <p role="status">Loading…</p>
      </main>
    );
  }
  const onInvitations = path.startsWith("/settings/invitations");
  return (
    <div class="admin">
      <a class="skip-link" href="#content">
        Skip to content
      </a>
      <header class="topbar">
        <span class="brand">{directory.workspace.name}</span>
        <nav aria-label="Main">
          <span class="nav-group">People</span>
          <NavLink href="/members" current={!onInvitations}>
            Members
          </NavLink>
          <span class="nav-group">Settings</span>
          <NavLink href="/settings/invitations" current={onInvitations}>
            Invitations
          </NavLink>
        </nav>
        <LiveIndicator live={live} />
        <button type="button" class="link-button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="content">
        {onInvitations ? (
          <InvitationsPage live={live} directory={directory} />
        ) : (
          <MembersPage live={live} directory={directory} />
        )}
      </main>
    </div>
  );
}
