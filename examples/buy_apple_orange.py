"""Buying apples and oranges (사과와 귤 쇼핑): multiplication and addition layers — notes 003 and 004.

    (apple × apple_num + orange × orange_num) × tax = price (지불 금액)

Note 004 took the orange gradient from the apple layer, ``mul_apple_layer.backward(dorange_price)``,
which returns the apple's numbers (2.2 and 110) instead of the orange's (3.3 and 165). Here each
layer's backward is called on its own layer; the last lines show what the mistake would print.
"""

from layerprop import AddLayer, MulLayer
from layerprop.display import format_number

apple = 100
apple_num = 2
orange = 150
orange_num = 3
tax = 1.1

# layers (계층들)
mul_apple_layer = MulLayer()
mul_orange_layer = MulLayer()
add_apple_orange_layer = AddLayer()
mul_tax_layer = MulLayer()

# forward (순전파)
apple_price = mul_apple_layer.forward(apple, apple_num)
orange_price = mul_orange_layer.forward(orange, orange_num)
all_price = add_apple_orange_layer.forward(apple_price, orange_price)
price = mul_tax_layer.forward(all_price, tax)

print("price (지불 금액):", format_number(price))

# backward (역전파)
dprice = 1
dall_price, dtax = mul_tax_layer.backward(dprice)
dapple_price, dorange_price = add_apple_orange_layer.backward(dall_price)
dapple, dapple_num = mul_apple_layer.backward(dapple_price)
dorange, dorange_num = mul_orange_layer.backward(dorange_price)  # the orange layer, not the apple layer

print("dapple_num (사과 개수):", format_number(dapple_num))
print("dapple (사과 가격):", format_number(dapple))
print("dorange (귤 가격):", format_number(dorange))
print("dorange_num (귤 개수):", format_number(dorange_num))
print("dtax (소비세):", format_number(dtax))
print(
    "dapple_num dapple dorange dorange_num dtax:",
    *(format_number(v) for v in (dapple_num, dapple, dorange, dorange_num, dtax)),
)

# note 004's mistake, for comparison: the apple layer swaps in the apple's inputs (2 and 100)
wrong_dorange, wrong_dorange_num = mul_apple_layer.backward(dorange_price)
print(
    "note 004's mul_apple_layer.backward(dorange_price) would give dorange, dorange_num:",
    format_number(wrong_dorange),
    format_number(wrong_dorange_num),
)
