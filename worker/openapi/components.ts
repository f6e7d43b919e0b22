import type * as v from "valibot";
import { ActionJson, DeliveryJson } from "../actions/schema";
import { MessageJson, ResolutionJson } from "../anonymous/json";
import { ApiKeyJson } from "../api-keys/schema";
import { CredentialChangeJson } from "../credentials/schema";
import { Event } from "../events/registry";
import { ImportJson } from "../imports/schema";
import { InvitationJson } from "../invitations/schema";
import { JoinRequestJson } from "../join-requests/schema";
import { LabelJson, LabelListed } from "../labels/schema";
import { ListOf } from "../lib/fields";
import { LiveMessage } from "../live/protocol";
import { MemberJson } from "../members/schema";
import { MoveJson, StartedMove } from "../moves/schema";
import { OutboxMessageJson } from "../outbox/schema";
import { WorkspaceJson } from "../platform/schema";
import { RoleJson } from "../roles/schema";
import { ShardJson, ShardList } from "../shards/schema";
import { SmsSettingsJson } from "../sms-settings/schema";
import { ShardProgress, UpgradeProgress } from "../upgrades/schema";
import { ErrorJson } from "./error-schema";

/** The shapes a client meets in many places: each a page of the list convention too (`MemberPage`). */
const LISTED = {
  Member: MemberJson,
  /** A label as GET /v1/labels lists it: with its holders counted. */
  ListedLabel: LabelListed,
  Role: RoleJson,
  Invitation: InvitationJson,
  JoinRequest: JoinRequestJson,
  Action: ActionJson,
  Delivery: DeliveryJson,
  Message: MessageJson,
  CredentialChange: CredentialChangeJson,
  OutboxMessage: OutboxMessageJson,
};

const pages = Object.fromEntries(Object.entries(LISTED).map(([name, item]) => [`${name}Page`, ListOf(item)]));

/**
 * The document's named schemas (`#/components/schemas/<name>`), so generated clients have
 * a `Member` type and every operation answering one refers to it. A route's schema is
 * named when it is one of these very objects (ListOf gives one page schema per item).
 */
export const COMPONENTS: Record<string, v.GenericSchema> = {
  ...LISTED,
  ...pages,
  Label: LabelJson,
  ApiKey: ApiKeyJson,
  Import: ImportJson,
  Resolution: ResolutionJson,
  SmsSettings: SmsSettingsJson,
  Workspace: WorkspaceJson,
  Shard: ShardJson,
  ShardList,
  Move: MoveJson,
  StartedMove,
  UpgradeProgress,
  ShardUpgradeProgress: ShardProgress,
  Error: ErrorJson,
  /** One of the event registry's types (worker/events/registry.ts), told apart by `type`. */
  Event,
  LiveMessage,
};
