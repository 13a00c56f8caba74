import type { SearchParamType } from '../types.js';
import { extractDate } from './extract-date.js';
import { extractNumber } from './extract-number.js';
import { extractReference } from './extract-reference.js';
import { extractString } from './extract-string.js';
import { extractToken } from './extract-token.js';
import { extractUri } from './extract-uri.js';
import type { Extractor } from './extracted.js';

/** The extractor of each value type (composites combine these per component). */
export const EXTRACTORS: Readonly<Partial<Record<SearchParamType, Extractor>>> = {
  string: extractString,
  token: extractToken,
  reference: extractReference,
  date: extractDate,
  number: extractNumber,
  quantity: extractNumber,
  uri: extractUri,
};
