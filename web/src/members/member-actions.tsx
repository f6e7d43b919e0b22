import { useState } from "preact/hooks";
import { ResolveDialog } from "../anonymous/resolve-dialog";
import type { Directory } from "../app/admin";
import { ApiError, api, errorMessage, type Member, ok } from "../app/api";
import { ChangeCredentialDialog, type CredentialKind } from "../credentials/change-dialog";
import { EditMemberDialog } from "./member-dialogs";
import type { RowAction } from "./member-row";

type Dialog =
  | { kind: "edit"; member: Member }
  | { kind: "resolve"; member: Member }
  | { kind: "credential"; member: Member; credential: CredentialKind }
  | null;

/**
 * The row menu's actions, for the Members list and a member's page alike: the writes
 * (archive, unarchive, expire, resend) and the dialogs (edit, change email or phone, resolve).
 * `applied` gets the member as the write committed it; `resolved` the member a resolve merged into.
 */
export function useMemberActions(options: {
  directory: Directory;
  onNotice: (text: string) => void;
  applied: (member: Member) => void;
  resolved: (source: Member, target: Member) => void;
}) {
  const [dialog, setDialog] = useState<Dialog>(null);
  const { onNotice } = options;

  async function act(action: RowAction, member: Member) {
    onNotice("");
    try {
      if (action === "edit" || action === "resolve") return setDialog({ kind: action, member });
      if (action === "change-email" || action === "change-phone") {
        return setDialog({ kind: "credential", member, credential: action === "change-email" ? "email" : "phone" });
      }
      if (action === "archive" || action === "unarchive" || action === "expire") {
        const path = { id: member.id };
        const updated = await ok(
          action === "archive"
            ? api.POST("/v1/members/{id}/archive", { params: { path } })
            : action === "unarchive"
              ? api.POST("/v1/members/{id}/unarchive", { params: { path } })
              : api.POST("/v1/members/{id}/expire", { params: { path } }),
        );
        options.applied(updated);
        onNotice(
          `${member.name} ${action === "archive" ? "archived" : action === "expire" ? "expired" : "unarchived"}.`,
        );
      }
      if (action === "resend") {
        const invitation = await pendingInvitationOf(member.id);
        if (!invitation) throw new ApiError(404, "not_found", `${member.name} has no invitation to resend.`);
        await ok(api.POST("/v1/invitations/{id}/resend", { params: { path: { id: invitation } } }));
        onNotice(`A new invitation is on its way to ${member.email ?? member.phone}.`);
      }
    } catch (error) {
      onNotice(errorMessage(error));
    }
  }

  const dialogs = (
    <>
      {dialog?.kind === "credential" ? (
        <ChangeCredentialDialog member={dialog.member} kind={dialog.credential} onClose={() => setDialog(null)} />
      ) : null}
      {dialog?.kind === "resolve" ? (
        <ResolveDialog
          member={dialog.member}
          onClose={() => setDialog(null)}
          onDone={(target) => {
            setDialog(null);
            options.resolved(dialog.member, target);
            onNotice(`${dialog.member.name} resolved into ${target.name}.`);
          }}
        />
      ) : null}
      {dialog?.kind === "edit" ? (
        <EditMemberDialog
          directory={options.directory}
          member={dialog.member}
          onClose={() => setDialog(null)}
          onDone={(m) => {
            setDialog(null);
            options.applied(m);
            onNotice(`${m.name} saved.`);
          }}
        />
      ) : null}
    </>
  );
  return { act, dialogs };
}

/** The member's open invitation (pending, or expired and so worth resending), newest first. */
async function pendingInvitationOf(memberId: string): Promise<string | null> {
  const page = await ok(api.GET("/v1/invitations", { params: { query: { memberId, limit: 100 } } }));
  return page.data.find((i) => i.status === "pending" || i.status === "expired")?.id ?? null;
}
