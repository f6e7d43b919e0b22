import * as v from "valibot";
import { Email, Slug } from "../lib/fields";
import { MemberJson } from "../members/schema";

export const Login = v.strictObject({ workspace: Slug, email: Email });

/** Link tokens are bounded strings; their shape is checked where they are redeemed. */
export const TokenBody = v.strictObject({ token: v.pipe(v.string(), v.maxLength(200)) });

export const LoginAccepted = v.object({ status: v.literal("sent"), message: v.string() });

export const SignedIn = v.object({ member: MemberJson });
