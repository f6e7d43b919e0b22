import { useEffect, useId, useRef, useState } from "preact/hooks";
import type { Member } from "../app/api";
import { Swatch, useLabelColors } from "../labels/use-labels";
import { Link } from "../ui/link";

export type RowAction =
  | "edit"
  | "change-email"
  | "change-phone"
  | "archive"
  | "unarchive"
  | "resend"
  | "resolve"
  | "expire";

function actionsFor(member: Member): { action: RowAction; label: string }[] {
  if (member.status === "archived") return [{ action: "unarchive", label: "Unarchive" }];
  // Shown for their history only: an expired member is anonymous again when it writes again.
  if (member.status === "expired" || member.status === "merged") return [];
  if (member.status === "anonymous")
    return [
      { action: "resolve", label: "Resolve" },
      { action: "expire", label: "Expire" },
    ];
  const actions: { action: RowAction; label: string }[] = [
    { action: "edit", label: "Edit" },
    { action: "change-email", label: "Change Email" },
    { action: "change-phone", label: "Change Phone" },
  ];
  if (member.status === "invited") actions.push({ action: "resend", label: "Resend invitation" });
  actions.push({ action: "archive", label: "Archive" });
  return actions;
}

const OPENS_DIALOG = new Set<RowAction>(["edit", "change-email", "change-phone", "resolve"]);

/** A member's labels as chips; each can be removed where the member is editable. */
export function LabelChips(props: { member: Member; onRemove?: (slug: string) => void }) {
  const { member, onRemove } = props;
  const colors = useLabelColors();
  if (member.labels.length === 0) return null;
  return (
    <ul class="chips" aria-label={`Labels of ${member.name}`}>
      {member.labels.map((label) => (
        <li key={label} class="chip">
          <Swatch color={colors.get(label)} />
          {label}
          {onRemove ? (
            <button
              type="button"
              class="chip-remove"
              aria-label={`Remove label ${label} from ${member.name}`}
              onClick={() => onRemove(label)}
            >
              ×
            </button>
          ) : null}
        </li>
      ))}
    </ul>
  );
}

export function MemberRow(props: {
  member: Member;
  register: (id: string, element: HTMLElement | null) => void;
  onAction: (action: RowAction, member: Member) => void;
  onRemoveLabel: (member: Member, slug: string) => void;
}) {
  const { member } = props;
  const editable = member.status === "active" || member.status === "invited";
  return (
    <tr ref={(element) => props.register(member.id, element)} data-member-id={member.id}>
      <th scope="row">
        <Link href={`/members/${member.id}`}>{member.name}</Link>
        {member.status === "invited" ? <span class="badge">Invited</span> : null}
        <span class="subtle">{member.type === "team" ? "Team" : "Customer"}</span>
      </th>
      <td>{member.email ?? "—"}</td>
      <td>{member.phone ?? "—"}</td>
      <td>{member.role}</td>
      <td>
        <LabelChips member={member} onRemove={editable ? (slug) => props.onRemoveLabel(member, slug) : undefined} />
      </td>
      <td class="row-actions">
        <ActionMenu member={member} onAction={props.onAction} />
      </td>
    </tr>
  );
}

/** The row's ⋮ menu: a menu button (arrow keys move, Escape closes and returns focus). */
export function ActionMenu({ member, onAction }: { member: Member; onAction: (a: RowAction, m: Member) => void }) {
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);
  const menuId = useId();
  const items = actionsFor(member);

  useEffect(() => {
    if (!open) return;
    menu.current?.querySelector<HTMLElement>("[role=menuitem]")?.focus();
    const outside = (event: MouseEvent) => {
      if (!menu.current?.contains(event.target as Node) && event.target !== button.current) setOpen(false);
    };
    document.addEventListener("mousedown", outside);
    return () => document.removeEventListener("mousedown", outside);
  }, [open]);

  function close(refocus: boolean) {
    setOpen(false);
    if (refocus) button.current?.focus();
  }

  function onMenuKey(event: KeyboardEvent) {
    const entries = Array.from(menu.current?.querySelectorAll<HTMLElement>("[role=menuitem]") ?? []);
    const at = entries.indexOf(document.activeElement as HTMLElement);
    const go = (i: number) => entries[(i + entries.length) % entries.length]?.focus();
    if (event.key === "ArrowDown") go(at + 1);
    else if (event.key === "ArrowUp") go(at - 1);
    else if (event.key === "Home") go(0);
    else if (event.key === "End") go(entries.length - 1);
    else if (event.key === "Escape" || event.key === "Tab") close(event.key === "Escape");
    else return;
    if (event.key !== "Tab") event.preventDefault();
  }

  if (items.length === 0) return null;
  return (
    <div class="menu">
      <button
        ref={button}
        type="button"
        class="icon-button"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        aria-label={`Actions for ${member.name}`}
        onClick={() => setOpen((o) => !o)}
        onKeyDown={(event) => {
          if (event.key === "ArrowDown") {
            event.preventDefault();
            setOpen(true);
          }
        }}
      >
        ⋮
      </button>
      {open ? (
        <div ref={menu} id={menuId} role="menu" aria-label={`Actions for ${member.name}`} onKeyDown={onMenuKey}>
          {items.map((item) => (
            <button
              key={item.action}
              type="button"
              role="menuitem"
              tabIndex={-1}
              onClick={() => {
                // Actions that open a dialog leave focus to it (the dialog returns it to this button).
                close(!OPENS_DIALOG.has(item.action));
                onAction(item.action, member);
              }}
            >
              {item.label}
            </button>
          ))}
        </div>
      ) : null}
    </div>
  );
}
