-- How the order ended, as order-service says when asked (OrderReconciler): its word normally comes as
-- orders.order.cancelled, or order-service takes payments.payment.refunded; either may end in a
-- dead-letter queue after an outage. order_checked_at: payment-service and order-service agree, nothing
-- left to ask. next_order_check_at: when to ask (again); NULL means the default delay after the deadline.
ALTER TABLE payments ADD COLUMN order_checked_at timestamptz, ADD COLUMN next_order_check_at timestamptz;
ALTER TABLE refunds ADD COLUMN order_checked_at timestamptz, ADD COLUMN next_order_check_at timestamptz;

CREATE INDEX payments_order_unchecked ON payments (expires_at)
    WHERE ended_at IS NULL AND order_checked_at IS NULL AND status IN ('PENDING', 'REQUIRES_ACTION', 'SUCCEEDED');
CREATE INDEX refunds_order_unchecked ON refunds (refunded_at) WHERE order_checked_at IS NULL;
