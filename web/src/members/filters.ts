import type { Member } from "../app/api";

/**
 * The tabs, each a choice of statuses (the first is the tab's default): Members (active or
 * invited), Anonymous (waiting to be resolved, or expired without a merge), Archived.
 */
export const TABS = [
  {
    id: "members",
    label: "Members",
    statuses: [
      { status: "active", label: "Active" },
      { status: "invited", label: "Invited" },
    ],
  },
  {
    id: "anonymous",
    label: "Anonymous",
    statuses: [
      { status: "anonymous", label: "Waiting" },
      { status: "expired", label: "Expired" },
    ],
  },
  { id: "archived", label: "Archived", statuses: [{ status: "archived", label: "Archived" }] },
] as const;
export type Tab = (typeof TABS)[number]["id"];

export type Filters = { tab: Tab; status: string; type: string; role: string; label: string; q: string };

export const initialFilters: Filters = { tab: "members", status: "active", type: "", role: "", label: "", q: "" };

/** The statuses a tab offers. */
export const statusesOf = (tab: Tab) => TABS.find((t) => t.id === tab)?.statuses ?? TABS[0].statuses;

/** The list's `status`: the one chosen, if the tab offers it, else the tab's first. */
export const statusOf = (filters: Filters): Member["status"] => {
  const offered = statusesOf(filters.tab);
  return (offered.find((s) => s.status === filters.status) ?? offered[0]).status;
};

/**
 * Whether a member, as an event left it, belongs in the list the filters show: rows
 * join, stay and leave with live events without asking the server again. `q` is the
 * server's prefix search over name words, email and phone, approximated here.
 */
export function matches(member: Member, filters: Filters): boolean {
  if (member.status !== statusOf(filters)) return false;
  if (filters.type && member.type !== filters.type) return false;
  if (filters.role && member.role !== filters.role) return false;
  if (filters.label && !member.labels.includes(filters.label)) return false;
  const q = filters.q.trim().toLowerCase();
  if (q) {
    const digits = q.replace(/\D/g, "");
    const terms = [...member.name.toLowerCase().split(/\s+/), member.name.toLowerCase(), member.email ?? ""];
    const byText = terms.some((term) => term.startsWith(q));
    const phone = member.phone?.replace(/\D/g, "") ?? "";
    const byPhone = digits.length >= 3 && digits.length === q.replace(/[\s()+-]/g, "").length && phone.includes(digits);
    if (!byText && !byPhone) return false;
  }
  return true;
}

/** Newest first, as the API lists them (ids grow with time). */
export const newestFirst = (a: Member, b: Member) =>
  a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1;

/** The list's query for the filters (GET /v1/members, and the export's filters). */
export const listQuery = (f: Filters) => ({
  status: statusOf(f),
  type: f.type === "team" || f.type === "customer" ? (f.type as "team" | "customer") : undefined,
  role: f.role || undefined,
  label: f.label || undefined,
  q: f.q.trim() || undefined,
});
