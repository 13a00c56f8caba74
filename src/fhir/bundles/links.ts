import type { BundleLink } from '@medplum/fhirtypes';
import { encodeCursor, type Page } from '../../search/keyset.js';

/**
 * Bundle paging links (http.html#paging): `self` shows exactly the parameters applied,
 * `first`/`next`/`previous` carry keyset cursors.
 */
export function pageLinks(baseUrl: string, path: string, applied: Record<string, string>, page: Page, cursor?: string): BundleLink[] {
  const url = (extra: Record<string, string>): string => {
    const query = new URLSearchParams({ ...applied, ...extra }).toString();
    return `${baseUrl}/${path}${query ? `?${query}` : ''}`;
  };
  const links: BundleLink[] = [{ relation: 'self', url: url(cursor ? { _cursor: cursor } : {}) }];
  links.push({ relation: 'first', url: url({}) });
  if (page.prev) links.push({ relation: 'previous', url: url({ _cursor: encodeCursor(page.prev) }) });
  if (page.next) links.push({ relation: 'next', url: url({ _cursor: encodeCursor(page.next) }) });
  return links;
}
