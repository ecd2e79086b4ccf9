"""E-commerce: the product catalogue, orders and discount approval, payments and refunds
with the attribution frozen at payment."""
