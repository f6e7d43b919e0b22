import type { Member } from "../app/api";

/** The tabs: Members (active or invited), Anonymous, Archived; each is a status filter. */
export const TABS = [
  { id: "members", label: "Members" },
  { id: "anonymous", label: "Anonymous" },
  { id: "archived", label: "Archived" },
] as const;
export type Tab = (typeof TABS)[number]["id"];

export type Filters = { tab: Tab; status: string; type: string; role: string; label: string; q: string };

export const initialFilters: Filters = { tab: "members", status: "active", type: "", role: "", label: "", q: "" };

/** The list's `status` for a tab (the Members tab also offers Invited). */
export const statusOf = (filters: Filters) =>
  filters.tab === "members" ? filters.status : filters.tab === "anonymous" ? "anonymous" : "archived";

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
