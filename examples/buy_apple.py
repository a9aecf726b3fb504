"""Buying apples (사과 쇼핑): the multiplication layer forward and backward — note 003.

    apple (100 won) × apple_num (2) × tax (1.1) = price (지불 금액)

The notes print 220.00000000000003 and 110.00000000000001: floating-point round-off in the last
digit. The values are the same here; they are printed rounded with layerprop.display.format_number.
"""

from layerprop import MulLayer
from layerprop.display import format_number

apple = 100
apple_num = 2
tax = 1.1

# layers (계층들)
mul_apple_layer = MulLayer()
mul_tax_layer = MulLayer()

# forward (순전파)
apple_price = mul_apple_layer.forward(apple, apple_num)
price = mul_tax_layer.forward(apple_price, tax)

print("price (지불 금액):", format_number(price))

# backward (역전파)
dprice = 1
dapple_price, dtax = mul_tax_layer.backward(dprice)
dapple, dapple_num = mul_apple_layer.backward(dapple_price)

print("dapple (사과 가격에 대한 미분):", format_number(dapple))
print("dapple_num (사과 개수에 대한 미분):", format_number(dapple_num))
print("dtax (소비세에 대한 미분):", format_number(dtax))
print("dapple dapple_num dtax:", format_number(dapple), format_number(dapple_num), format_number(dtax))
