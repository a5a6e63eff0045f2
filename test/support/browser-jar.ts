/** A browser's cookies for one host, seen as an adapter's cookie jar across requests. */
export function browserJar(initial: Record<string, string> = {}) {
  const cookies = new Map(Object.entries(initial));
  const jar = {
    get: (n: string) => cookies.get(n),
    names: () => [...cookies.keys()],
    namesStartingWith: (p: string) => [...cookies.keys()].filter((n) => n.startsWith(p)),
    set: (n: string, v: string) => void cookies.set(n, v),
    delete: (n: string) => void cookies.delete(n),
  };
  return { jar, cookies };
}
