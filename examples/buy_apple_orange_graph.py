"""The apple and orange example as a define-by-run graph (layerprop.graph) — notes 003 and 004.

Each operator records a node (a MulLayer or an AddLayer); ``price.backward()`` runs them in reverse.
"""

from layerprop.display import format_number
from layerprop.graph import Variable

apple = Variable(100, name="apple")
apple_num = Variable(2, name="apple_num")
orange = Variable(150, name="orange")
orange_num = Variable(3, name="orange_num")
tax = Variable(1.1, name="tax")

price = (apple * apple_num + orange * orange_num) * tax
print("price (지불 금액):", format_number(price.item()))
print("nodes (노드):", " ".join(node.label for node in price.nodes()))

price.backward()
for v in (apple_num, apple, orange, orange_num, tax):
    print(f"d price / d {v.name}:", format_number(v.grad))
