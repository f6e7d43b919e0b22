import { useEffect, useState } from "preact/hooks";

/** Client-side navigation: the Worker's assets answer every page path with index.html. */
export function navigate(path: string) {
  if (path === location.pathname + location.search) return;
  history.pushState(null, "", path);
  dispatchEvent(new PopStateEvent("popstate"));
}

/** The current path; re-renders on navigation and on a new #token= fragment (a link opened in this tab). */
export function usePath() {
  const [hash, setHash] = useState(location.hash);
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => {
      setPath(location.pathname);
      setHash(location.hash);
    };
    addEventListener("popstate", update);
    addEventListener("hashchange", update);
    return () => {
      removeEventListener("popstate", update);
      removeEventListener("hashchange", update);
    };
  }, []);
  return { path, hash };
}

/** The `token` in the URL fragment (links keep it there so it never reaches a server log). */
export function fragmentToken(): string | null {
  return new URLSearchParams(location.hash.slice(1)).get("token");
}
