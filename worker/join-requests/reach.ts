import { type SQL, sql } from "drizzle-orm";
import type { MemberLike } from "../cel/cel";
import type { ReachFilter } from "../reach/reach";
import { USER } from "../roles/builtin";
import { joinRequests } from "./table";

/**
 * A join request is about the person it would make a member. Under a role condition a
 * caller sees it (lists, approve, deny, the live stream) when the condition holds for
 * that member as approving with the default role would create them: the request's name,
 * email and phone, status "invited", role "user", no labels, no external id, no id yet.
 * The role an approval does choose is judged when it invites (worker/invitations).
 */
const PROSPECT = { id: "", status: "invited", role: USER.key } as const;

/** The member a request would become, as CEL's `member` (the live stream judges events by it). */
export function prospectiveMember(request: { name: string; email: string; phone?: string | null }): MemberLike {
  return { ...PROSPECT, name: request.name, email: request.email, phone: request.phone ?? null, labels: [] };
}

/**
 * SQL: the condition holds for the member the current `join_requests` row would become.
 * The condition's predicate reads columns of `members` (worker/reach/to-sql.ts): a
 * one-row subquery named `members` gives them, so the query filters before paging.
 */
export function prospectInReach(within: ReachFilter): SQL {
  return sql`exists (select 1 from (select ${PROSPECT.id} as id, ${joinRequests.name} as name,
    ${joinRequests.email} as email, ${joinRequests.phone} as phone, null as external_id, '[]' as labels,
    ${PROSPECT.status} as status, ${PROSPECT.role} as role) as ${sql.identifier("members")}
    where ${within()})`;
}
