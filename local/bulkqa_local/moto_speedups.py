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
9. TransactWriteItems backs up the items it touches (a deep copy of each, or its absence) and, when it
   is cancelled, puts back just those, not deep copies of every table it names.
10. A Query on a secondary index reads the items whose index hash key matches, not every item of the
    table sorted; an index's items are sorted by their raw string or number keys, in moto's order.

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
import copy
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
        index = getattr(partition, "index", None)
        if index is not None and index[0] is self:
            found = _index_items(self, index[1])
            return original_all_items(self) if found is None else found
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
        if kwargs.get("index_name") or (len(args) > 6 and args[6]):
            return index_query(self, hash_key, *args, **kwargs)
        if hash_key is None:
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

    def index_query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        """10. A Query on an index: all_items() returns the items whose index hash key matches."""
        try:
            conditions = signature.bind(self, hash_key, *args, **kwargs).arguments.get("hash_key_conditions")
        except TypeError:
            conditions = None
        # moto keeps the items whose every hash key condition holds (the last one per attribute counts)
        wanted = {}
        for name, value in conditions or ():
            wanted[name] = value
        if not wanted or not all(
            isinstance(value, dynamo_type.DynamoType) and value.type == "S" and type(value.value) is str
            for value in wanted.values()
        ):
            return original_query(self, hash_key, *args, **kwargs)
        partition.index = (self, tuple((name, value.value) for name, value in wanted.items()))
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            partition.index = None

    patch(table_class, "all_items", all_items)
    patch(table_class, "query", query)

    # 10. (and Scan of an index) the items are sorted by their raw string or number keys where those order
    #     as moto's tuples of DynamoTypes do (moto compares DynamoTypes in Python, Decimal for each number)
    original_sorted_items = table_class.sorted_items

    def sorted_items(self: Any, hash_key_attrs: list[str], range_key_attrs: list[str | None], items: list[Any]) -> Any:
        keys = _sort_keys(self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs), items)
        if keys is None:
            return original_sorted_items(self, hash_key_attrs, range_key_attrs, items)
        order = sorted(range(len(items)), key=keys.__getitem__)  # stable, as moto's list.sort
        items[:] = [items[n] for n in order]
        return items

    patch(table_class, "sorted_items", sorted_items)

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

    # 9. TransactWriteItems backs up the items it touches, not deep copies of whole tables
    models: Any = importlib.import_module("moto.dynamodb.models")

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        _transact_write_items(models, self, transact_items)

    patch(models.DynamoDBBackend, "transact_write_items", transact_write_items)
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


def _index_items(table: Any, wanted: tuple[tuple[str, str], ...]) -> list[Any] | None:
    """The items moto's index Query would keep from ``all_items()`` (those whose attributes named in
    ``wanted`` are strings equal to its values), in ``all_items()``'s order; None: let moto read them all."""
    from moto.dynamodb.models.dynamo_type import Item

    ranged = bool(table.range_key_attr)
    found: list[Any] = []
    item: Any
    for stored in list(table.items.values()):
        for item in list(stored.values()) if ranged else (stored,):
            if type(item) is not Item:
                return None
            attrs = item.attrs
            for name, value in wanted:
                member = attrs.get(name)
                # moto: ``not item_value or item_value != expected_value``, for a string expected value
                if member is None or member.type != "S" or member.value != value:
                    break
            else:
                found.append(item)
    # all_items() sorts by (hash key, range key) as DynamoTypes: for strings that is their str order
    if all(
        item.hash_key.type == "S" and (item.range_key.type == "S" if ranged else item.range_key is None)
        for item in found
    ):
        if ranged:
            found.sort(key=lambda item: (item.hash_key.value, item.range_key.value))
        else:
            found.sort(key=lambda item: item.hash_key.value)
        return found
    return sorted(found, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


def _sort_keys(names: list[str], items: list[Any]) -> list[tuple[Any, ...]] | None:
    """Each item's sort key in raw values where that orders as moto's tuple of DynamoTypes does: every
    named attribute present, of one type per position, strings (str order) or numbers (Decimal order)."""
    from decimal import Decimal

    kinds: list[str | None] = [None] * len(names)
    keys = []
    try:
        for item in items:
            attrs = item.attrs
            row = []
            for n, name in enumerate(names):
                value = attrs.get(name)
                kind = value.type if value is not None else None
                if kind not in ("S", "N") or (kinds[n] is not None and kinds[n] != kind):
                    return None
                kinds[n] = kind
                raw = value.value
                if type(raw) is not str:
                    return None
                number = Decimal(raw) if kind == "N" else None
                if number is not None and not number.is_finite():
                    return None
                row.append(raw if number is None else number)
            keys.append(tuple(row))
    except Exception:  # anything moto's own sort may trip on: it runs and fails its own way
        return None
    return keys


class _Rollback:
    """What a transaction changes, to put back if it is cancelled: moto deep-copies every table named by
    an item (by its name, as the tables stand) before the transaction and puts the copies back; this
    keeps, for those tables, each touched item's state before the item's operation and the length of
    their streams."""

    def __init__(self, backend: Any, transact_items: list[dict[str, Any]]) -> None:
        self.backend = backend
        self.tables: dict[int, Any] = {}
        for item in transact_items:
            _, op = next(iter(item.items()))
            table_name = op.get("TableName")
            if table_name and table_name in backend.tables:
                table = backend.tables[table_name]
                self.tables[id(table)] = table
        self.streams = [
            (table.stream_shard, table.stream_shard.items, len(table.stream_shard.items))
            for table in self.tables.values()
            if table.stream_shard is not None
        ]
        # (table, hash key, range key or None, partition existed, state): state is _UNTOUCHED, _ABSENT
        # or (a deep copy of the item, the order of its container's keys if the operation may remove it)
        self.slots: list[tuple[Any, Any, Any, bool, Any]] = []

    def save(self, table_name: str, key: dict[str, Any], op_type: str) -> None:
        """Before moto looks the item up (which may create an empty partition) and changes it. Anything
        moto's own look-up fails on (so that it changes nothing) is not saved."""
        try:
            table = self.backend.get_table(table_name)
            if id(table) not in self.tables:
                return
            hash_value, range_value = self.backend.get_keys_value(table, key)
            items = table.items
            if range_value is None:  # moto: ``items[hash]`` is the item
                existed = True
                container = items
                slot = hash_value
            else:  # ``items[hash][range]``; moto's defaultdict creates the partition on a look-up
                existed = hash_value in items
                container = items.get(hash_value) if existed else {}
                slot = range_value
            if op_type == "ConditionCheck":
                if not existed:
                    self.slots.append((table, hash_value, range_value, False, _UNTOUCHED))
                return
            if not existed:
                self.slots.append((table, hash_value, range_value, False, _UNTOUCHED))
                return
            item = container.get(slot)
        except Exception:
            return
        if item is None:
            state: Any = _ABSENT
        else:
            keys = {id(item.hash_key): item.hash_key, id(item.range_key): item.range_key}  # shared, as moto's
            state = (copy.deepcopy(item, keys), list(container) if op_type == "Delete" else None)
        self.slots.append((table, hash_value, range_value, True, state))

    def restore(self) -> None:
        for table, hash_value, range_value, existed, state in reversed(self.slots):
            items = table.items
            if range_value is None:
                container, slot = items, hash_value
            elif not existed:
                items.pop(hash_value, None)
                continue
            else:
                container, slot = items[hash_value], range_value
            if state is _UNTOUCHED:
                continue
            if state is _ABSENT:
                container.pop(slot, None)
                continue
            saved, order = state
            if slot in container or order is None:
                container[slot] = saved  # an existing key keeps its place
                continue
            # put back a removed item where it was in its container's order (moto's copy keeps that order)
            current = {id(k): (k, v) for k, v in container.items()}
            rebuilt = container.copy()
            rebuilt.clear()
            for k in order:
                if id(k) in current:
                    rebuilt[k] = current.pop(id(k))[1]
                elif k == slot:
                    rebuilt[k] = saved
            for k, v in current.values():
                rebuilt[k] = v
            if range_value is None:
                table.items = rebuilt
            else:
                items[hash_value] = rebuilt
        for shard, records, length in self.streams:
            del records[length:]
            shard.items = records


_UNTOUCHED = object()
_ABSENT = object()


def _transact_write_items(models: Any, backend: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto 5.2.5's ``DynamoDBBackend.transact_write_items`` line for line, but for its rollback:
    :class:`_Rollback` instead of ``copy.deepcopy`` of each table."""
    if len(transact_items) > 100:
        raise models.TooManyTransactionsException()
    # Create a backup in case any of the transactions fail
    rollback = _Rollback(backend, transact_items)

    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise models.MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[str | None, str | None, dict[str, Any] | None]] = []  # [(Code, Message, Item), ..]
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        # Check transact writes are not performing multiple operations on the same item
        if len(list(item.keys())) > 1:
            raise models.TransactWriteSingleOpException  # (moto puts nothing back here either)

        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")

            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            expression_attribute_names = op.get("ExpressionAttributeNames")
            expression_attribute_values = op.get("ExpressionAttributeValues")
            return_values_on_condition_check_failure = op.get("ReturnValuesOnConditionCheckFailure")

            if op_type == "Put":
                attrs = op["Item"]
                table = backend.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]

            check_unicity(table_name, key)
            rollback.save(table_name, key, op_type)

            current = backend.get_item(table_name, key)
            if condition_expression is not None:
                condition_op = models.get_filter_expression(
                    condition_expression, expression_attribute_names, expression_attribute_values
                )
                if not condition_op.expr(current):
                    if return_values_on_condition_check_failure == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise models.ConditionalCheckFailed(item=original_item)

            if op_type == "Put":
                attrs = op["Item"]
                backend.put_item(
                    table_name,
                    attrs,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Delete":
                backend.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Update":
                update_expression = op["UpdateExpression"]
                backend.update_item(
                    table_name,
                    key,
                    update_expression=update_expression,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            errors.append((None, None, None))
        except (models.MultipleTransactionsException, models.MockValidationException):
            # Rollback to the original state, and reraise the error
            rollback.restore()
            raise
        except models.ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))
        except Exception as e:  # moto records any other failure as the item's reason
            # For other exceptions, capture their details
            errors.append((type(e).__name__, str(e), original_item))

    if any(code is not None for code, _, _ in errors):
        # Rollback to the original state, and reraise the errors
        rollback.restore()
        raise models.TransactionCanceledException(errors)


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
