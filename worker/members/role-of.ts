import { and, eq } from "drizzle-orm";
import { roles } from "../roles/table";
import { members } from "./table";

/** Joins a member to their role (roles are keyed per workspace by `key`, members name it in `role`). */
export const roleOfMember = and(eq(roles.workspaceId, members.workspaceId), eq(roles.key, members.role));
