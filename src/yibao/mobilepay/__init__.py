"""The mobile-payment centre (医保移动支付, 6201-6401): sealed SM2/SM4 envelopes, keys, e-credential
authorizations (payAuthNo) and the pay-order routes. See docs/mobilepay.md."""
