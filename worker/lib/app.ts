import { Hono } from "hono";
import type { MemberType, Scope } from "../roles/scopes";
import type { Db } from "./db";

/** Who is calling: implied by the credential, and the workspace every query is scoped by. */
export type Caller = {
  workspaceId: string;
  memberId: string;
  type: MemberType;
  scopes: Scope[];
};

export type AppEnv = {
  Bindings: Env;
  Variables: { db: Db; caller: Caller };
};

export const router = () => new Hono<AppEnv>();
