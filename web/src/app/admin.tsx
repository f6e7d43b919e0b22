import { useEffect, useMemo, useState } from "preact/hooks";
import { ApiKeysPage } from "../api-keys/api-keys-page";
import { AuditPage } from "../audit/audit-page";
import { InvitationsPage } from "../invitations/invitations-page";
import { LabelsPage } from "../labels/labels-page";
import { allLabels, LabelColors, useColorMap, useLiveLabels } from "../labels/use-labels";
import { LiveConnection } from "../live/connection";
import { LiveIndicator } from "../live/indicator";
import { MemberPage } from "../members/member-page";
import { MembersPage } from "../members/members-page";
import { SmsSettingsPage } from "../sms/sms-settings-page";
import { Link } from "../ui/link";
import { ApiError, allPages, api, type ListedLabel, ok, type Role, type Workspace } from "./api";
import { navigate } from "./router";

export type Directory = { workspace: Workspace; roles: Role[]; labels: readonly ListedLabel[] };

const allRoles = () => allPages((cursor) => ok(api.GET("/v1/roles", { params: { query: { limit: 100, cursor } } })));

function NavLink({ href, current, children }: { href: string; current: boolean; children: string }) {
  return (
    <Link href={href} current={current}>
      {children}
    </Link>
  );
}

const NO_LABELS: readonly ListedLabel[] = [];

/** The signed-in admin view: People -> Members, Labels and Settings -> Invitations over one live stream. */
export function AdminApp({ path }: { path: string }) {
  const [loaded, setLoaded] = useState<Directory | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const live = useMemo(() => new LiveConnection(() => navigate("/sign-in")), []);
  // New, edited and deleted labels arrive as events: the Labels screen, the filter's choices and the chips' colors follow.
  const labels = useLiveLabels(live, loaded?.labels ?? NO_LABELS);
  const colors = useColorMap(labels);
  const directory = useMemo(() => (loaded ? { ...loaded, labels } : null), [loaded, labels]);

  useEffect(() => {
    Promise.all([ok(api.GET("/v1/workspace")), allRoles(), allLabels()])
      .then(([workspace, roles, labels]) => {
        setLoaded({ workspace, roles, labels });
        live.start();
      })
      .catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 401) navigate("/sign-in");
        else setFailure(error instanceof Error ? error.message : "The workspace could not be loaded.");
      });
    return () => live.stop();
  }, [live]);

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
  const onLabels = path === "/labels" || path.startsWith("/labels/");
  const onApiKeys = path.startsWith("/settings/api-keys");
  const onSms = path.startsWith("/settings/sms");
  const onAudit = path === "/audit";
  const memberId = /^\/members\/([^/]+)$/.exec(path)?.[1];
  return (
    <div class="admin">
      <a class="skip-link" href="#content">
        Skip to content
      </a>
      <header class="topbar">
        <span class="brand">{directory.workspace.name}</span>
        <nav aria-label="Main">
          <span class="nav-group">People</span>
          <NavLink href="/members" current={!onInvitations && !onLabels && !onApiKeys && !onSms && !onAudit}>
            Members
          </NavLink>
          <NavLink href="/labels" current={onLabels}>
            Labels
          </NavLink>
          <NavLink href="/audit" current={onAudit}>
            Audit log
          </NavLink>
          <span class="nav-group">Settings</span>
          <NavLink href="/settings/invitations" current={onInvitations}>
            Invitations
          </NavLink>
          <NavLink href="/settings/api-keys" current={onApiKeys}>
            API keys
          </NavLink>
          <NavLink href="/settings/sms" current={onSms}>
            SMS
          </NavLink>
        </nav>
        <LiveIndicator live={live} />
        <button type="button" class="link-button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="content">
        <LabelColors.Provider value={colors}>
          {onInvitations ? (
            <InvitationsPage live={live} directory={directory} />
          ) : onApiKeys ? (
            <ApiKeysPage live={live} />
          ) : onSms ? (
            <SmsSettingsPage live={live} workspaceId={directory.workspace.id} />
          ) : onLabels ? (
            <LabelsPage labels={labels} />
          ) : onAudit ? (
            <AuditPage live={live} />
          ) : memberId ? (
            <MemberPage key={memberId} live={live} directory={directory} id={decodeURIComponent(memberId)} />
          ) : (
            <MembersPage live={live} directory={directory} />
          )}
        </LabelColors.Provider>
      </main>
    </div>
  );
}
