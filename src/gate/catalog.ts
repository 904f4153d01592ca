// The tier and product catalogue, cached for a few minutes: it maps a tier label to the subscription
// label a link needs, when the route did not name its subscription, and says which names ecom9 knows.
import type { Ecom9Client } from '../client';

const CATALOG_TTL_MS = 5 * 60_000;

interface Catalog {
  /** product manage id -> subscription (product) label */
  readonly productLabel: ReadonlyMap<string, string>;
  /** tier label -> subscription label of the first product that offers it */
  readonly subscriptionOfTier: ReadonlyMap<string, string>;
  /** Every tier label ecom9 lists. */
  readonly tiers: ReadonlySet<string>;
  /** Every product label (product codes and subscription labels are product labels). */
  readonly products: ReadonlySet<string>;
}

/** The names ecom9's catalogue holds, for telling a typo from a name that exists. */
export interface KnownNames {
  readonly tiers: ReadonlySet<string>;
  readonly products: ReadonlySet<string>;
}

export class CatalogCache {
  private current: { at: number; catalog: Promise<Catalog> } | undefined;

  constructor(
    private readonly client: Ecom9Client,
    private readonly now: () => number,
  ) {}

  /** The subscription label for a tier, from its product manage id or, failing that, its label. */
  async subscriptionFor(tierLabel: string, productManageId?: string | null): Promise<string | undefined> {
    const c = await this.get();
    return (productManageId ? c.productLabel.get(productManageId) : undefined) ?? c.subscriptionOfTier.get(tierLabel);
  }

  /** The tier and product labels ecom9 lists (rejects when the catalogue cannot be read). */
  async names(): Promise<KnownNames> {
    const c = await this.get();
    return { tiers: c.tiers, products: c.products };
  }

  private get(): Promise<Catalog> {
    const t = this.now();
    if (this.current && t - this.current.at < CATALOG_TTL_MS) return this.current.catalog;
    const catalog = this.load();
    this.current = { at: t, catalog };
    // A failed load is not kept: the next call tries again.
    catalog.catch(() => {
      if (this.current?.catalog === catalog) this.current = undefined;
    });
    return catalog;
  }

  private async load(): Promise<Catalog> {
    const products = await this.client.products.list();
    const productLabel = new Map<string, string>();
    for (const p of products.results) if (p.label_name) productLabel.set(p.manage_id, p.label_name);
    const subscriptionOfTier = new Map<string, string>();
    const tiers = new Set<string>();
    for await (const tier of this.client.tiers.iterate({ pageSize: 100 })) {
      tiers.add(tier.label_name);
      const label = tier.product_manage_id ? productLabel.get(tier.product_manage_id) : undefined;
      if (label && !subscriptionOfTier.has(tier.label_name)) subscriptionOfTier.set(tier.label_name, label);
    }
    return { productLabel, subscriptionOfTier, tiers, products: new Set(productLabel.values()) };
  }
}
