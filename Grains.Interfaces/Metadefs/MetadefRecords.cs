namespace Glance.Grains.Metadefs;

/// <summary>The wire names of a namespace's visibility.</summary>
public static class MetadefVisibility
{
    /// <summary>Every caller sees the namespace.</summary>
    public const string Public = "public";
    /// <summary>Only its owner's project (and admins) see it.</summary>
    public const string Private = "private";
}

/// <summary>The array item type of an array property (<c>items</c>).</summary>
[GenerateSerializer, Immutable, Alias("glance.metadef-items")]
public sealed record MetadefItems
{
    /// <summary>The items' JSON type name (string, integer, ...), when given.</summary>
    [Id(0)] public string? Type { get; init; }
    /// <summary>The values items may take, when given.</summary>
    [Id(1)] public ImmutableList<string>? Enum { get; init; }
}

/// <summary>
/// One property definition of a namespace or an object: the JSON-schema-like description Glance
/// keeps (<c>title</c>, <c>type</c>, <c>enum</c>, <c>minimum</c>, ...; null means absent), plus
/// two attributes of this service that Glance's JSON does not carry: <see cref="Enforced"/> and
/// <see cref="MatchesPrefix"/>. A property of a public namespace associated with
/// <c>OS::Glance::Image</c> is also an image property definition (see <c>IPropertyDefinitionsGrain</c>).
/// </summary>
[GenerateSerializer, Immutable, Alias("glance.metadef-property")]
public sealed record MetadefProperty
{
    /// <summary>The property's name within its namespace or object (without any resource type prefix).</summary>
    [Id(0)] public string Name { get; init; } = "";
    /// <summary>array, boolean, integer, number, object or string.</summary>
    [Id(1)] public string? Type { get; init; }
    /// <summary>The name people see (required by Glance's schema).</summary>
    [Id(2)] public string? Title { get; init; }
    /// <summary>What the property means.</summary>
    [Id(3)] public string? Description { get; init; }
    /// <summary>Operators a UI offers (<c>&lt;or&gt;</c>, <c>&lt;in&gt;</c>, ...).</summary>
    [Id(4)] public ImmutableList<string>? Operators { get; init; }
    /// <summary>The default as the JSON Glance shows (a string, or <c>null</c> for a default Glance cannot show).</summary>
    [Id(5)] public string? DefaultJson { get; init; }
    /// <summary>True when a UI should not let people change it.</summary>
    [Id(6)] public bool? Readonly { get; init; }
    /// <summary>The smallest value (integer and number).</summary>
    [Id(7)] public double? Minimum { get; init; }
    /// <summary>The largest value (integer and number).</summary>
    [Id(8)] public double? Maximum { get; init; }
    /// <summary>The values the property takes.</summary>
    [Id(9)] public ImmutableList<string>? Enum { get; init; }
    /// <summary>A regular expression values match.</summary>
    [Id(10)] public string? Pattern { get; init; }
    /// <summary>The shortest value (string).</summary>
    [Id(11)] public int? MinLength { get; init; }
    /// <summary>The longest value (string).</summary>
    [Id(12)] public int? MaxLength { get; init; }
    /// <summary>True for a value that should not be shown (passwords).</summary>
    [Id(13)] public bool? Confidential { get; init; }
    /// <summary>The item type of an array.</summary>
    [Id(14)] public MetadefItems? Items { get; init; }
    /// <summary>Array items are distinct.</summary>
    [Id(15)] public bool? UniqueItems { get; init; }
    /// <summary>Fewest array items.</summary>
    [Id(16)] public int? MinItems { get; init; }
    /// <summary>Most array items.</summary>
    [Id(17)] public int? MaxItems { get; init; }
    /// <summary>Whether items beyond the described ones are allowed.</summary>
    [Id(18)] public bool? AdditionalItems { get; init; }
    /// <summary>
    /// This service: as an image property definition, a rule (values outside it are refused)
    /// rather than a description. Set through <c>/v2/property-definitions</c>; kept by metadefs writes.
    /// </summary>
    [Id(19)] public bool Enforced { get; init; }
    /// <summary>
    /// This service: as an image property definition, <see cref="Name"/> (with the resource type
    /// prefix) is a name prefix governing every property that starts with it (e.g. <c>trait:</c>).
    /// </summary>
    [Id(20)] public bool MatchesPrefix { get; init; }
    /// <summary>
    /// Whether Glance's stored schema carries the name (it does for properties written through
    /// <c>/properties</c>, not for those written inside a namespace or object body): it then
    /// shows <c>name</c> inside the property in namespace and list answers too.
    /// </summary>
    [Id(21)] public bool NameInSchema { get; init; }
}

/// <summary>An object: a named group of properties within a namespace.</summary>
[GenerateSerializer, Immutable, Alias("glance.metadef-object")]
public sealed record MetadefObject
{
    /// <summary>The object's name, unique within its namespace.</summary>
    [Id(0)] public string Name { get; init; } = "";
    /// <summary>What the object is.</summary>
    [Id(1)] public string? Description { get; init; }
    /// <summary>Names of its properties that must be set.</summary>
    [Id(2)] public ImmutableList<string>? Required { get; init; }
    /// <summary>Its properties, in the order they were given.</summary>
    [Id(3)] public ImmutableList<MetadefProperty>? Properties { get; init; }
    /// <summary>When it was created.</summary>
    [Id(4)] public DateTimeOffset CreatedAt { get; init; }
    /// <summary>When it was last written (null for seeded content).</summary>
    [Id(5)] public DateTimeOffset? UpdatedAt { get; init; }
}

/// <summary>A tag a UI may offer for a resource.</summary>
[GenerateSerializer, Immutable, Alias("glance.metadef-tag")]
public sealed record MetadefTag
{
    /// <summary>The tag, unique within its namespace regardless of letter case.</summary>
    [Id(0)] public string Name { get; init; } = "";
    /// <summary>When it was created.</summary>
    [Id(1)] public DateTimeOffset CreatedAt { get; init; }
    /// <summary>When it was last written (null for seeded content).</summary>
    [Id(2)] public DateTimeOffset? UpdatedAt { get; init; }
    /// <summary>Creation order, to break ties between equal times as Glance's row ids do.</summary>
    [Id(3)] public long Sequence { get; init; }
}

/// <summary>A namespace's association with a resource type (e.g. <c>OS::Glance::Image</c> with prefix <c>hw_</c>).</summary>
[GenerateSerializer, Immutable, Alias("glance.metadef-association")]
public sealed record MetadefAssociation
{
    /// <summary>The resource type's name.</summary>
    [Id(0)] public string Name { get; init; } = "";
    /// <summary>What the namespace's property names take in front when applied to this resource type.</summary>
    [Id(1)] public string? Prefix { get; init; }
    /// <summary>Which of the resource's key/value sets the properties go to (e.g. <c>image</c> for Cinder volumes).</summary>
    [Id(2)] public string? PropertiesTarget { get; init; }
    /// <summary>When it was created.</summary>
    [Id(3)] public DateTimeOffset CreatedAt { get; init; }
    /// <summary>When it was last written (null for seeded content).</summary>
    [Id(4)] public DateTimeOffset? UpdatedAt { get; init; }
}

/// <summary>A resource type namespaces may be associated with.</summary>
[GenerateSerializer, Immutable, Alias("glance.metadef-resource-type")]
public sealed record MetadefResourceType
{
    /// <summary>The name, e.g. <c>OS::Nova::Flavor</c>.</summary>
    [Id(0)] public string Name { get; init; } = "";
    /// <summary>Seeded by the service.</summary>
    [Id(1)] public bool Protected { get; init; }
    /// <summary>When it was created.</summary>
    [Id(2)] public DateTimeOffset CreatedAt { get; init; }
    /// <summary>When it was last written (null for seeded types).</summary>
    [Id(3)] public DateTimeOffset? UpdatedAt { get; init; }
}

/// <summary>A metadata definition namespace with everything it contains.</summary>
[GenerateSerializer, Immutable, Alias("glance.metadef-namespace")]
public sealed record MetadefNamespace
{
    /// <summary>The unique name (at most 80 characters).</summary>
    [Id(0)] public string Namespace { get; init; } = "";
    /// <summary>The name a UI shows.</summary>
    [Id(1)] public string? DisplayName { get; init; }
    /// <summary>What the namespace is about.</summary>
    [Id(2)] public string? Description { get; init; }
    /// <summary>public or private (<see cref="MetadefVisibility"/>).</summary>
    [Id(3)] public string Visibility { get; init; } = MetadefVisibility.Private;
    /// <summary>A protected namespace and its contents cannot be deleted.</summary>
    [Id(4)] public bool Protected { get; init; }
    /// <summary>The owning project (null: everyone's).</summary>
    [Id(5)] public string? Owner { get; init; }
    /// <summary>When it was created.</summary>
    [Id(6)] public DateTimeOffset CreatedAt { get; init; }
    /// <summary>When it was last written (null for seeded namespaces).</summary>
    [Id(7)] public DateTimeOffset? UpdatedAt { get; init; }
    /// <summary>Creation order, to break ties between equal times as Glance's row ids do.</summary>
    [Id(8)] public long Sequence { get; init; }
    /// <summary>Its resource type associations, in creation order.</summary>
    [Id(9)] public ImmutableArray<MetadefAssociation> ResourceTypes { get; init; } = [];
    /// <summary>Its properties, in creation order.</summary>
    [Id(10)] public ImmutableArray<MetadefProperty> Properties { get; init; } = [];
    /// <summary>Its objects, in creation order.</summary>
    [Id(11)] public ImmutableArray<MetadefObject> Objects { get; init; } = [];
    /// <summary>Its tags, in creation order.</summary>
    [Id(12)] public ImmutableArray<MetadefTag> Tags { get; init; } = [];

    /// <summary>The namespace without its contents except its associations (what a list shows).</summary>
    public MetadefNamespace Summary() => this with { Properties = [], Objects = [], Tags = [] };
}

/// <summary>What <c>GET /v2/metadefs/namespaces</c> asks for.</summary>
[GenerateSerializer, Immutable, Alias("glance.metadef-namespace-query")]
public sealed record NamespaceQuery
{
    /// <summary>The sort keys Glance's namespaces table has.</summary>
    public static readonly ImmutableArray<string> SortKeys =
        ["namespace", "display_name", "description", "visibility", "protected", "owner", "created_at", "updated_at", "id"];

    /// <summary>Most namespaces in a page.</summary>
    [Id(0)] public int Limit { get; init; } = 25;
    /// <summary>List after this namespace.</summary>
    [Id(1)] public string? Marker { get; init; }
    /// <summary>One of <see cref="SortKeys"/>.</summary>
    [Id(2)] public string SortKey { get; init; } = "created_at";
    /// <summary>True for ascending.</summary>
    [Id(3)] public bool Ascending { get; init; }
    /// <summary>Only namespaces of this visibility.</summary>
    [Id(4)] public string? Visibility { get; init; }
    /// <summary>Only namespaces associated with one of these resource types (empty: any).</summary>
    [Id(5)] public ImmutableArray<string> ResourceTypes { get; init; } = [];
}

/// <summary>What <c>GET /v2/metadefs/namespaces/{namespace}/tags</c> asks for.</summary>
[GenerateSerializer, Immutable, Alias("glance.metadef-tag-query")]
public sealed record TagQuery
{
    /// <summary>The sort keys Glance's tags table has.</summary>
    public static readonly ImmutableArray<string> SortKeys = ["name", "created_at", "updated_at", "id"];

    /// <summary>Most tags returned (null: all).</summary>
    [Id(0)] public int? Limit { get; init; }
    /// <summary>List after this tag.</summary>
    [Id(1)] public string? Marker { get; init; }
    /// <summary>One of <see cref="SortKeys"/>.</summary>
    [Id(2)] public string SortKey { get; init; } = "created_at";
    /// <summary>True for ascending.</summary>
    [Id(3)] public bool Ascending { get; init; }
}

/// <summary>The parts of a namespace <c>DELETE .../{objects,properties,tags}</c> empties.</summary>
public enum MetadefContents
{
    /// <summary>Every object.</summary>
    Objects,
    /// <summary>Every property.</summary>
    Properties,
    /// <summary>Every tag.</summary>
    Tags,
}

/// <summary>A namespace update (<c>PUT</c>): every field is replaced; absent ones take Glance's defaults.</summary>
[GenerateSerializer, Immutable, Alias("glance.metadef-namespace-update")]
public sealed record NamespaceUpdate
{
    /// <summary>The (possibly new) name.</summary>
    [Id(0)] public string Namespace { get; init; } = "";
    /// <summary>Null clears it.</summary>
    [Id(1)] public string? DisplayName { get; init; }
    /// <summary>Null clears it.</summary>
    [Id(2)] public string? Description { get; init; }
    /// <summary>Null means private.</summary>
    [Id(3)] public string? Visibility { get; init; }
    /// <summary>Null means false.</summary>
    [Id(4)] public bool? Protected { get; init; }
    /// <summary>Null means the caller's project.</summary>
    [Id(5)] public string? Owner { get; init; }
}
