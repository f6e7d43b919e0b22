import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { Directory } from "../app/admin";
import { api, errorMessage, type Member, ok } from "../app/api";
import { ImportDialog } from "../imports/import-dialog";
import { Swatch } from "../labels/use-labels";
import type { LiveConnection } from "../live/connection";
import { ExportButton } from "./export-button";
import { type Filters, initialFilters, statusesOf, statusOf, TABS, type Tab } from "./filters";
import { useMemberActions } from "./member-actions";
import { AddMemberDialog, InviteMemberDialog } from "./member-dialogs";
import { MemberRow } from "./member-row";
import { useFlash } from "./use-flash";
import { useMemberList } from "./use-member-list";

type Dialog = { kind: "add" } | { kind: "invite" } | { kind: "import" } | null;

/** People -> Members: tabs, filters, search, keyset pages, and rows kept live by events. */
export function MembersPage({ live, directory }: { live: LiveConnection; directory: Directory }) {
  const [filters, setFilters] = useState<Filters>(initialFilters);
  const [search, setSearch] = useState("");
  const [notice, setNotice] = useState("");
  const [dialog, setDialog] = useState<Dialog>(null);
  const { register, flash } = useFlash();
  const list = useMemberList({ live, filters, flash, onNotice: setNotice });
  const { rows, loading, failure, applyLocally } = list;

  // Search as you type, a moment after the last key.
  useEffect(() => {
    const timer = setTimeout(() => setFilters((f) => (f.q === search ? f : { ...f, q: search })), 250);
    return () => clearTimeout(timer);
  }, [search]);

  const setFilter = (patch: Partial<Filters>) => setFilters((f) => ({ ...f, ...patch }));

  const actions = useMemberActions({
    directory,
    onNotice: setNotice,
    applied: applyLocally,
    resolved: (source) => list.drop(source.id),
  });

  async function removeLabel(member: Member, slug: string) {
    try {
      applyLocally(
        await ok(api.DELETE("/v1/members/{id}/labels/{slug}", { params: { path: { id: member.id, slug } } })),
      );
      setNotice(`Removed label ${slug} from ${member.name}.`);
    } catch (error) {
      setNotice(errorMessage(error));
    }
  }

  const tabIds = (tab: Tab) => ({ tab: `tab-${tab}`, panel: "members-panel" });

  return (
    <section aria-labelledby="members-title">
      <div class="page-head">
        <h1 id="members-title" tabIndex={-1}>
          Members
        </h1>
        <div class="actions">
          <button type="button" onClick={() => setDialog({ kind: "add" })}>
            Add Member
          </button>
          <button type="button" class="secondary" onClick={() => setDialog({ kind: "invite" })}>
            Invite Member
          </button>
          <button type="button" class="secondary" onClick={() => setDialog({ kind: "import" })}>
            Import
          </button>
          <ExportButton filters={filters} onNotice={setNotice} />
        </div>
      </div>

      <div role="tablist" aria-label="Member status" class="tabs">
        {TABS.map((t, i) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            id={tabIds(t.id).tab}
            aria-selected={filters.tab === t.id}
            aria-controls="members-panel"
            tabIndex={filters.tab === t.id ? 0 : -1}
            onClick={() => setFilter({ tab: t.id, status: t.statuses[0].status })}
            onKeyDown={(event) => {
              const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
              if (!step) return;
              const next = TABS[(i + step + TABS.length) % TABS.length];
              if (!next) return;
              setFilter({ tab: next.id, status: next.statuses[0].status });
              document.getElementById(tabIds(next.id).tab)?.focus();
            }}
          >
            {t.label}
          </button>
        ))}
      </div>

      <div role="tabpanel" id="members-panel" aria-labelledby={tabIds(filters.tab).tab}>
        <search class="filters" aria-label="Filter members">
          <div>
            <label for="filter-q">Search</label>
            <input
              id="filter-q"
              type="search"
              value={search}
              placeholder="Name, email or phone"
              onInput={(e) => setSearch((e.target as HTMLInputElement).value)}
            />
          </div>
          {statusesOf(filters.tab).length > 1 ? (
            <FilterSelect
              label="Status"
              id="filter-status"
              value={statusOf(filters)}
              onInput={(status) => setFilter({ status })}
            >
              {statusesOf(filters.tab).map((s) => (
                <option key={s.status} value={s.status}>
                  {s.label}
                </option>
              ))}
            </FilterSelect>
          ) : null}
          <FilterSelect label="Type" id="filter-type" value={filters.type} onInput={(type) => setFilter({ type })}>
            <option value="">All types</option>
            <option value="team">Team</option>
            <option value="customer">Customer</option>
          </FilterSelect>
          <FilterSelect label="Role" id="filter-role" value={filters.role} onInput={(role) => setFilter({ role })}>
            <option value="">All roles</option>
            {directory.roles.map((r) => (
              <option key={r.key} value={r.key}>
                {r.name}
              </option>
            ))}
          </FilterSelect>
          <div class="filter-label">
            {filters.label ? <Swatch color={directory.labels.find((l) => l.slug === filters.label)?.color} /> : null}
            <FilterSelect
              label="Label"
              id="filter-label"
              value={filters.label}
              onInput={(label) => setFilter({ label })}
            >
              <option value="">All labels</option>
              {directory.labels.map((l) => (
                <option key={l.slug} value={l.slug}>
                  {l.name}
                </option>
              ))}
            </FilterSelect>
          </div>
        </search>

        <output class="notice" aria-live="polite">
          {notice}
        </output>
        {failure ? (
          <p class="form-error" role="alert">
            {failure}
          </p>
        ) : null}

        {list.fresh > 0 ? (
          <button
            type="button"
            class="secondary announcement"
            onClick={() => {
              void list.showNewest();
              document.getElementById("members-title")?.focus();
            }}
          >
            {list.fresh.toLocaleString()} new {list.fresh === 1 ? "member" : "members"}: show
          </button>
        ) : null}
        <table class="members" aria-busy={loading}>
          <caption class="visually-hidden">{TABS.find((t) => t.id === filters.tab)?.label}, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Phone</th>
              <th scope="col">Role</th>
              <th scope="col">Labels</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((member) => (
              <MemberRow
                key={member.id}
                member={member}
                register={register}
                onAction={actions.act}
                onRemoveLabel={removeLabel}
              />
            ))}
          </tbody>
        </table>
        {!loading && rows.length === 0 && !failure ? <p class="empty">No members match.</p> : null}
        <div class="pager">
          {list.cursor ? (
            <button type="button" class="secondary" disabled={loading} onClick={list.loadMore}>
              {loading ? "Loading…" : "Load more"}
            </button>
          ) : null}
        </div>
      </div>

      {dialog?.kind === "add" ? (
        <AddMemberDialog
          directory={directory}
          onClose={() => setDialog(null)}
          onDone={(m) => {
            setDialog(null);
            setNotice(`${m.name} added.`);
          }}
        />
      ) : null}
      {dialog?.kind === "invite" ? (
        <InviteMemberDialog
          directory={directory}
          onClose={() => setDialog(null)}
          onDone={(email) => {
            setDialog(null);
            setNotice(`Invitation sent to ${email}.`);
          }}
        />
      ) : null}
      {dialog?.kind === "import" ? <ImportDialog directory={directory} onClose={() => setDialog(null)} /> : null}
      {actions.dialogs}
    </section>
  );
}

function FilterSelect(props: {
  label: string;
  id: string;
  value: string;
  onInput: (value: string) => void;
  children: ComponentChildren;
}) {
  return (
    <div>
      <label for={props.id}>{props.label}</label>
      <select id={props.id} value={props.value} onInput={(e) => props.onInput((e.target as HTMLSelectElement).value)}>
        {props.children}
      </select>
    </div>
  );
}
