/** The campaign a page URL carries in its `utm_*` parameters (Google Analytics' convention). */

/** The columns `utm_source` … `utm_content` of `events`. */
export interface CampaignFields {
  readonly utm_source?: string;
  readonly utm_medium?: string;
  readonly utm_campaign?: string;
  readonly utm_term?: string;
  readonly utm_content?: string;
}

const UTM_PARAMETERS = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'] as const;

/** Resolves relative page URLs (a path alone), which carry their query all the same. */
const BASE = 'http://page.invalid/';

/** The longest parameter value kept: longer ones are cut there. */
const MAX_VALUE_LENGTH = 200;

/** The `utm_*` parameters of `url`, or undefined when it has none (most URLs: checked before parsing). */
export function campaignOf(url: string): CampaignFields | undefined {
  if (!url.includes('utm_')) return undefined;
  let params: URLSearchParams;
  try {
    params = new URL(url, BASE).searchParams;
  } catch {
    return undefined;
  }
  let fields: { -readonly [K in keyof CampaignFields]: string } | undefined;
  for (const name of UTM_PARAMETERS) {
    const value = params.get(name)?.trim();
    if (value === undefined || value === '') continue;
    fields ??= {};
    fields[name] = value.length > MAX_VALUE_LENGTH ? value.slice(0, MAX_VALUE_LENGTH) : value;
  }
  return fields;
}
