"""Speed-ups for the local runtime's hot paths in moto and botocore, so 100,000 images fit one machine.

Profiling ``bulkqa demo`` on 100,000 rows showed the local runtime's time in moto and botocore, not in
our code: 4 ms per UpdateItem and 1.2 ms per queried item (1,368 s for the run). Each patch below
removes repeated work and keeps moto's answers, errors included:

1. Query responses: items already in DynamoDB's wire format are copied, not re-serialised member by
   member through moto's model-driven serializer. Binary values take moto's own path.
2. UpdateExpression parses are memoised per string (moto's validator deep-copies the tree first).
3. moto's AST traversal builds each processor's node-type map once, not once per node visited.
4. A Query on a table's key reads that partition, not every item of the table sorted.
5. Finding a service's backend compares registries by identity, not whole backends by value.
6. A projection of top-level attributes converts the item once, not once per attribute.
7. UpdateItem of the shape ``SET a = :x, #b = :y`` (with any condition) on an existing item is
   applied directly; every other UpdateItem goes through moto's parser and validator.
8. Pure per-request helpers are memoised: a response class's action names, User-Agent clean-up.

:func:`skip_signing` sends the local requests unsigned (moto checks no signature).
``tests/unit/test_moto_speedups.py`` runs the same requests with and without the patches and
compares the answers. :func:`install` returns the undo list for :func:`uninstall`.

The patches reach into moto's internals, so they are tied to the moto release they were written and
tested against (:data:`MOTO_VERSION`, pinned in ``pyproject.toml``): :func:`install` refuses any other
release (:class:`MotoVersionError`). ``BULKQA_MOTO_SPEEDUPS=0`` runs the local cloud on moto and botocore
as they are, with no patch and no unsigned requests (:func:`enabled`).
"""

from __future__ import annotations

import bisect
import functools
import importlib
import inspect
import os
import re
import threading
from collections.abc import Callable
from typing import Any

#: the moto release the patches were written for and differentially tested against
MOTO_VERSION = "5.2.5"
#: ``BULKQA_MOTO_SPEEDUPS=0`` (or ``false``, ``no``, ``off``): the local cloud runs without the speed-ups
SWITCH = "BULKQA_MOTO_SPEEDUPS"


class MotoVersionError(RuntimeError):
    """The installed moto is not the release the speed-ups were written for."""


def enabled() -> bool:
    """Whether the local cloud applies the speed-ups: yes unless ``BULKQA_MOTO_SPEEDUPS`` turns them off."""
    return os.environ.get(SWITCH, "1").strip().lower() not in ("0", "false", "no", "off")


def check_moto_version() -> None:
    """Raise :class:`MotoVersionError`, saying what to do, unless moto is :data:`MOTO_VERSION`."""
    import moto

    installed = str(getattr(moto, "__version__", "unknown"))
    if installed != MOTO_VERSION:
        raise MotoVersionError(
            f"bulkqa_local.moto_speedups patches moto {MOTO_VERSION}'s internals and was tested against that "
            f"release only, but moto {installed} is installed. Either install the pinned release "
            f"(pip install 'moto=={MOTO_VERSION}', as pyproject.toml pins it; `make demo` does this), or run "
            f"without the speed-ups: {SWITCH}=0 (same results; large runs take about twice as long). "
            f"To move to another moto release, run tests/unit/test_moto_speedups.py against it and then "
            f"update MOTO_VERSION and the pin."
        )


_SCALARS = {"S": str, "N": str, "BOOL": bool, "NULL": bool}
_SETS = ("SS", "NS")


def _wire(value: Any) -> Any:
    """A copy of ``value`` if it is an AttributeValue in wire format without binary parts, else None."""
    if type(value) is not dict or len(value) != 1:
        return None
    ((kind, inner),) = value.items()
    scalar = _SCALARS.get(kind)
    if scalar is not None:
        return {kind: inner} if type(inner) is scalar else None
    if kind in _SETS:
        return {kind: list(inner)} if type(inner) is list and all(type(v) is str for v in inner) else None
    if kind == "M" and type(inner) is dict:
        members = {}
        for name, member in inner.items():
            copied = _wire(member)
            if copied is None or type(name) is not str or not name:
                return None
            members[name] = copied
        return {"M": members}
    if kind == "L" and type(inner) is list:
        elements = []
        for member in inner:
            copied = _wire(member)
            if copied is None:
                return None
            elements.append(copied)
        return {"L": elements}
    return None


def install() -> list[tuple[Any, str, Any]]:
    """Apply the patches; returns (owner, attribute, original) for :func:`uninstall`.

    Raises :class:`MotoVersionError` before patching anything if moto is not :data:`MOTO_VERSION`.
    """
    check_moto_version()
    from botocore import useragent
    from moto.core import base_backend, serialize
    from moto.core import responses as core_responses
    from moto.core import utils as core_utils
    from moto.dynamodb import responses as ddb_responses
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models import table as table_module

    # moto marks these two modules ``# type: ignore``: to mypy they have no attributes
    expressions: Any = importlib.import_module("moto.dynamodb.parsing.expressions")
    ast_nodes: Any = importlib.import_module("moto.dynamodb.parsing.ast_nodes")
    undo: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, value: Any) -> None:
        undo.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, value)

    # 1. wire-format AttributeValues are copied, not re-serialised member by member
    original_structure = serialize.BaseJSONSerializer._serialize_type_structure

    def serialize_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and shape.name == "AttributeValue" and self.service_model.service_name == "dynamodb":
            copied = _wire(value)
            if copied is not None:
                self._default_serialize(serialized, copied, shape, key)
                return
        original_structure(self, serialized, value, shape, key)

    patch(serialize.BaseJSONSerializer, "_serialize_type_structure", serialize_structure)

    # 2. one parse per distinct UpdateExpression
    parser = expressions.UpdateExpressionParser
    make: Callable[[str], Any] = functools.lru_cache(maxsize=512)(parser.make)
    patch(parser, "make", classmethod(lambda cls, expression_str: make(expression_str)))

    # 3. each traverser's node-type map built once, not once per node visited; which entry of it a
    #    node class matches (moto's isinstance order) is remembered per class
    traverser = ast_nodes.DepthFirstTraverser
    node_class = ast_nodes.Node
    matches: dict[tuple[tuple[type, ...], type], int] = {}

    def match(classes: tuple[type, ...], kind: type) -> int:
        found = matches.get((classes, kind))
        if found is None:
            if not issubclass(kind, node_class):
                found = -2
            else:
                found = next((n for n, cls in enumerate(classes) if issubclass(kind, cls)), -1)
            matches[(classes, kind)] = found
        return found

    def traverse_node_recursively(self: Any, node: Any, child_id: int = -1) -> Any:
        table = self.__dict__.get("_bulkqa_processing")
        if table is None:
            processing = self._processing_map()
            table = (tuple(processing), tuple(processing.values()))
            self.__dict__["_bulkqa_processing"] = table
        found = match(table[0], type(node))
        if found == -2:  # not a Node
            return node
        parent_node = node.parent
        if node.children is not None:
            for i, child_node in enumerate(node.children):
                self.pre_processing_of_child(node, i)
                self.traverse_node_recursively(child_node, i)
        if found >= 0:
            node = table[1][found](node)
            node.parent = parent_node
            if parent_node:
                parent_node.children[child_id] = node
        return node

    patch(traverser, "traverse_node_recursively", traverse_node_recursively)

    # 4. a Query on a table's key reads that partition, not every item of the table sorted
    table_class = table_module.Table
    original_all_items = table_class.all_items
    original_query = table_class.query
    partition = threading.local()

    signature = inspect.signature(original_query)

    def all_items(self: Any) -> list[Any]:
        wanted = getattr(partition, "key", None)
        if wanted is None or wanted[0] is not self:
            return original_all_items(self)
        found = self.items.get(wanted[1])
        if found is None:
            return []
        if not self.range_key_attr:
            return [found]
        subset = list(found.values())
        start = wanted[2]  # the ExclusiveStartKey's range value, for a forward page
        if all(item.range_key.type == "S" for item in subset):  # str order is moto's order for S
            subset.sort(key=lambda item: item.range_key.value)
            if start is not None and start.type == "S":
                # moto skips the items up to the start key one by one: a forward page starts after it
                values = [item.range_key.value for item in subset]
                subset = subset[bisect.bisect_right(values, start.value) :]
            return subset
        return sorted(subset, key=lambda x: (x.hash_key, x.range_key))

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        if hash_key is None or kwargs.get("index_name") or (len(args) > 6 and args[6]):
            return original_query(self, hash_key, *args, **kwargs)
        try:
            hash(hash_key)
            bound = signature.bind(self, hash_key, *args, **kwargs).arguments
        except Exception:  # a list, set, map or invalid number: moto compares it item by item instead
            return original_query(self, hash_key, *args, **kwargs)
        start = None
        exclusive_start_key = bound.get("exclusive_start_key")
        forward = bound.get("scan_index_forward", True) is not False
        if (
            exclusive_start_key
            and forward
            and self.range_key_attr
            and set(exclusive_start_key) == {self.hash_key_attr, self.range_key_attr}
        ):
            try:
                if dynamo_type.DynamoType(exclusive_start_key[self.hash_key_attr]) == hash_key:
                    start = dynamo_type.DynamoType(exclusive_start_key[self.range_key_attr])
            except Exception:
                start = None
        partition.key = (self, hash_key, start)
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            partition.key = None

    patch(table_class, "all_items", all_items)
    patch(table_class, "query", query)

    # 5. finding a service's account backend: moto checks its registry with ``in`` on a list of
    #    dicts, which compares whole backends by value on every request; identity is enough
    backend_dict = base_backend.BackendDict
    original_create = backend_dict._create_account_specific_backend
    registry: list[object] = vars(backend_dict)["_instances"]  # the class's list, changed in place only

    def create_account_specific_backend(self: Any, account_id: str) -> None:
        if account_id in self and any(known is self for known in registry):
            return
        original_create(self, account_id)

    patch(backend_dict, "_create_account_specific_backend", create_account_specific_backend)

    # 6. a projection of top-level attributes converts the item once, not once per attribute
    item_class = dynamo_type.Item
    original_project = item_class.project

    def project(self: Any, projection_expressions: list[list[str]]) -> Any:
        names = [expr[0] for expr in projection_expressions if len(expr) == 1 and "[" not in expr[0]]
        if len(names) != len(projection_expressions) or len(set(names)) != len(names):
            return original_project(self, projection_expressions)
        regular = self.to_regular_json()
        result = {name: regular[name] for name in names if name in regular}
        return item_class(
            hash_key=self.hash_key, range_key=self.range_key, attrs=dict(dynamo_type.serializer.serialize(result)["M"])
        )

    patch(item_class, "project", project)

    # 7. UpdateItem that only SETs top-level attributes of an existing item to values
    handler_class = ddb_responses.DynamoHandler
    original_update = handler_class.update_item

    def update_item(self: Any) -> Any:
        result = _simple_update(self, ddb_responses)
        return original_update(self) if result is None else result

    patch(handler_class, "update_item", update_item)

    # 8. pure per-request helpers recomputed on every call: the action methods of a response class
    #    (inspect.getmembers), and botocore's clean-up of the User-Agent string's parts
    names_of: Callable[[Any], list[str]] = functools.lru_cache(maxsize=None)(core_utils.method_names_from_class)
    patch(core_responses, "method_names_from_class", lambda clazz: list(names_of(clazz)))
    sanitize = functools.lru_cache(maxsize=4096)(useragent.sanitize_user_agent_string_component)
    patch(useragent, "sanitize_user_agent_string_component", sanitize)
    return undo


_NAME = r"(?:#[A-Za-z0-9_]+|[A-Za-z][A-Za-z0-9_]*)"
_SPACE = r"[ \n]"  # the whitespace moto's tokenizer accepts (a tab or CR is a syntax error there)
_ACTION = rf"{_SPACE}*({_NAME}){_SPACE}*={_SPACE}*(:[A-Za-z0-9_]+){_SPACE}*"
_SIMPLE_SET = re.compile(rf"^{_SPACE}*SET{_SPACE}+{_ACTION}(?:,{_ACTION})*$", re.IGNORECASE)
_ACTIONS = re.compile(_ACTION)
_NUMBER = re.compile(r"^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")


def _plain_value(value: Any) -> bool:
    """A value moto's validator would accept as is: strings, valid numbers, booleans, nulls, maps, lists."""
    if type(value) is not dict or len(value) != 1:
        return False
    ((kind, inner),) = value.items()
    if kind == "S":
        return type(inner) is str
    if kind == "N":
        return type(inner) is str and _NUMBER.match(inner) is not None
    if kind in ("BOOL", "NULL"):
        return type(inner) is bool and (kind == "BOOL" or inner)
    if kind == "M":
        return type(inner) is dict and all(type(k) is str and _plain_value(v) for k, v in inner.items())
    if kind == "L":
        return type(inner) is list and all(_plain_value(v) for v in inner)
    return False


def _simple_update(handler: Any, responses: Any) -> Any:
    """UpdateItem's result for ``SET a = :x, #b = :y`` on an existing item, or None: let moto do it.

    Anything outside that shape (other clauses, functions, nested paths, ReturnValues, AttributeUpdates,
    Expected, a missing item, a stream on the table, unused or missing placeholders, reserved words,
    key attributes, sets or binary values) goes through moto's own UpdateItem, errors included.
    """
    from moto.dynamodb.exceptions import ConditionalCheckFailed, ItemSizeTooLarge, ItemSizeToUpdateTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.parsing.reserved_keywords import ReservedKeywords

    body = handler.body
    expression = body.get("UpdateExpression")
    if (
        not isinstance(expression, str)
        or set(body)
        - {
            "TableName",
            "Key",
            "UpdateExpression",
            "ConditionExpression",
            "ExpressionAttributeNames",
            "ExpressionAttributeValues",
            "ReturnValues",
            "ReturnConsumedCapacity",
        }
        or body.get("ReturnValues", "NONE") != "NONE"
        or body.get("ReturnConsumedCapacity", "NONE") != "NONE"
        or not _SIMPLE_SET.match(expression)
    ):
        return None
    backend = handler.dynamodb_backend
    table = backend.tables.get(body.get("TableName"))
    key = body.get("Key")
    if table is None or table.stream_shard is not None or not isinstance(key, dict):
        return None
    if set(key) != {table.hash_key_attr} | ({table.range_key_attr} if table.range_key_attr else set()):
        return None
    names: dict[str, str] = body.get("ExpressionAttributeNames") or {}
    values: dict[str, Any] = body.get("ExpressionAttributeValues") or {}
    actions = [(m.group(1), m.group(2)) for m in _ACTIONS.finditer(expression.strip(" \n")[3:])]
    reserved = _reserved(ReservedKeywords)
    targets: list[str] = []
    for name, _ in actions:
        if name.startswith("#"):
            if name not in names:
                return None
            targets.append(names[name])
        elif name.upper() in reserved:
            return None
        else:
            targets.append(name)
    defined = {definition["AttributeName"] for definition in table.attr} | set(table.attribute_keys)
    if len(set(targets)) != len(targets) or set(targets) & defined:
        return None
    used_names = {n for n, _ in actions if n.startswith("#")}
    used_values = {v for _, v in actions}
    condition = body.get("ConditionExpression")
    parsed_condition = None
    if condition is not None:
        parser = responses.create_condition_expression_parser(condition, names, values)
        try:
            parsed_condition = parser.parse()
        except Exception:  # moto's own path raises the right error
            return None
        used_names |= set(parser.expr_attr_names_found)
        used_values |= set(parser.expr_attr_values_found)
    # every name and value given is used (DynamoDB rejects unused ones), every placeholder used is given
    placeholders_used = {n for n in used_names if n.startswith("#")}, {v for v in used_values if v.startswith(":")}
    if not (set(names) <= used_names and set(values) <= used_values):
        return None
    if not (placeholders_used[0] <= set(names) and placeholders_used[1] <= set(values)):
        return None
    if not all(_plain_value(values[v]) for _, v in actions):
        return None
    try:
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    except Exception:
        return None
    item = table.get_item(hash_value, range_value)
    if item is None:
        return None
    if parsed_condition is not None and not parsed_condition.expr(item):
        raise ConditionalCheckFailed
    try:
        for target, (_, placeholder) in zip(targets, actions, strict=True):
            item.attrs[target] = DynamoType(values[placeholder])
    except ItemSizeTooLarge:
        raise ItemSizeToUpdateTooLarge() from None
    return responses.DynamoResult({"ConsumedCapacity": {"TableName": table.name, "CapacityUnits": 0.5}})


def skip_signing(session: Any) -> None:
    """Requests to the local cloud go unsigned: moto never checks a signature, and SigV4 costs ~8 % of a
    run's CPU. S3 keeps its signer (botocore's own S3 signer choice runs first), and presigned URLs,
    which reviewers' pages carry, are signed as on AWS."""
    import botocore

    def choose_signer(signature_version: Any = None, **kwargs: Any) -> Any:
        if isinstance(signature_version, str) and signature_version.endswith(("-query", "-presign-post")):
            return None
        return botocore.UNSIGNED

    session.events.register("choose-signer", choose_signer)


@functools.lru_cache(maxsize=1)
def _reserved(keywords: Any) -> frozenset[str]:
    return frozenset(word.upper() for word in keywords.get_reserved_keywords())


def uninstall(undo: list[tuple[Any, str, Any]]) -> None:
    for owner, name, original in reversed(undo):
        setattr(owner, name, original)
