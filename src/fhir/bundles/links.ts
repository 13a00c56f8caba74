import type { BundleLink } from '@medplum/fhirtypes';
import { encodeCursor, type Page } from '../../search/keyset.js';

/**
 * Bundle paging links (http.html#paging): `self` shows exactly the parameters applied,
 * `first`/`next`/`previous` carry keyset cursors.
 */
export function pageLinks(baseUrl: string, path: string, applied: Record<string, string> | ReadonlyArray<readonly [string, string]>, page: Page, cursor?: string): BundleLink[] {
  // Pairs keep repeated parameters (AND-ed search criteria); a record cannot.
  const pairs = Array.isArray(applied) ? (applied as ReadonlyArray<readonly [string, string]>) : Object.entries(applied);
  const url = (extra: Record<string, string>): string => {
    const query = new URLSearchParams([...pairs, ...Object.entries(extra)] as string[][]).toString();
    return `${baseUrl}/${path}${query ? `?${query}` : ''}`;
  };
  const links: BundleLink[] = [{ relation: 'self', url: url(cursor ? { _cursor: cursor } : {}) }];
  links.push({ relation: 'first', url: url({}) });
  if (page.prev) links.push({ relation: 'previous', url: url({ _cursor: encodeCursor(page.prev) }) });
  if (page.next) links.push({ relation: 'next', url: url({ _cursor: encodeCursor(page.next) }) });
  return links;
}
