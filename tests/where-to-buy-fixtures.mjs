// A where-to-buy link with Walmart, Target, Amazon and Instacart offers, and its offers'
// destinations byte for byte (the worker runs with AMAZON_ASSOCIATE_TAGS {"proj_123": "brand-20"}).

export function whereToBuy(extra = {}) {
  return {
    projectId: 'proj_123',
    name: 'Grill kit, where to buy',
    retailer: 'multi',
    intent: 'where_to_buy',
    tracking: { utm: { source: 'instagram', campaign: 'grill-kit' }, tags: ['wtb'] },
    offers: [
      { retailer: 'walmart', intent: 'add_to_cart', products: [{ retailerProductId: '123456789', quantity: 2 }] },
      { retailer: 'target', intent: 'product_detail', products: [{ retailerProductId: '12345678' }] },
      { retailer: 'amazon', intent: 'add_to_cart', products: [{ retailerProductId: 'B07XJ8C8F5' }, { retailerProductId: 'B000000001', quantity: 3 }] },
      {
        retailer: 'instacart', intent: 'product_detail', products: [{ retailerProductId: '324877' }],
        options: { instacart: { retailerKey: 'publix' } }, tracking: { params: { utm_source: 'ic', aff: '7' } },
      },
    ],
    page: {
      title: 'Summer grill kit',
      subtitle: 'Pick your store',
      logoUrl: 'https://cdn.brand.example/logo.png',
      heroImageUrl: 'https://cdn.brand.example/hero.jpg',
      brandColor: '#1A237E',
      items: [
        { name: 'Charcoal briquets', size: '20 lb', imageUrl: 'https://cdn.brand.example/charcoal.png' },
        { name: 'Grill tongs' },
      ],
    },
    ...extra,
  };
}

/** The destinations of `whereToBuy()`'s offers, byte for byte. */
export const DESTINATIONS = {
  walmart: 'https://www.walmart.com/sc/cart/addToCart?items=123456789_2&utm_source=instagram&utm_campaign=grill-kit',
  target: 'https://www.target.com/p/-/A-12345678?utm_source=instagram&utm_campaign=grill-kit',
  amazon: 'https://www.amazon.com/gp/aws/cart/add.html?AssociateTag=brand-20&ASIN.1=B07XJ8C8F5&Quantity.1=1&ASIN.2=B000000001&Quantity.2=3&utm_source=instagram&utm_campaign=grill-kit',
  instacart: 'https://www.instacart.com/products/324877?retailerSlug=publix&utm_source=ic&utm_campaign=grill-kit&aff=7',
};
