using Glance.Grains.Identity;

namespace Glance.Grains.Metadefs;

/// <summary>
/// The metadata definitions catalog (Glance's metadefs): namespaces with their resource type
/// associations, properties, objects and tags, and the resource types. One grain for the whole
/// service, key 0 (see <see cref="MetadefsGrainExtensions.Metadefs"/>); the same activation also
/// answers <see cref="Properties.IPropertyDefinitionsGrain"/>, whose image property definitions
/// are the properties of the public namespaces associated with <c>OS::Glance::Image</c>.
/// <para>
/// The rules are Glance's (Zed defaults): anyone reads what they can see; a private namespace
/// is seen by its owner's project and admins only, and is not found for anyone else; only admins
/// write; a protected namespace and its contents cannot be deleted. Rule violations are thrown as
/// <see cref="Errors.GlanceException"/> with Glance's messages.
/// </para>
/// </summary>
[Alias("glance.IMetadefsGrain")]
public interface IMetadefsGrain : IGrainWithIntegerKey
{
    /// <summary>A page of the namespaces the caller sees, without contents other than their associations.</summary>
    [ReadOnly, Alias("list-namespaces")]
    Task<ImmutableArray<MetadefNamespace>> ListNamespacesAsync(Caller caller, NamespaceQuery query);

    /// <summary>A namespace with everything it contains.</summary>
    [ReadOnly, Alias("get-namespace")]
    Task<MetadefNamespace> GetNamespaceAsync(Caller caller, string name);

    /// <summary>
    /// Creates a namespace and its contents, all or nothing (admins). Unset owner: the caller's
    /// project; unset times are stamped. Associations create resource types not seen before.
    /// </summary>
    [Alias("create-namespace")]
    Task<MetadefNamespace> CreateNamespaceAsync(Caller caller, MetadefNamespace draft);

    /// <summary>Replaces a namespace's own fields, possibly renaming it (admins); its contents stay.</summary>
    [Alias("update-namespace")]
    Task<MetadefNamespace> UpdateNamespaceAsync(Caller caller, string name, NamespaceUpdate update);

    /// <summary>Deletes a namespace and its contents (admins; not when protected).</summary>
    [Alias("delete-namespace")]
    Task DeleteNamespaceAsync(Caller caller, string name);

    /// <summary>Deletes every object, property or tag of a namespace (admins; not when protected).</summary>
    [Alias("delete-contents")]
    Task DeleteContentsAsync(Caller caller, string name, MetadefContents contents);

    /// <summary>The namespace's objects, in creation order.</summary>
    [ReadOnly, Alias("list-objects")]
    Task<ImmutableArray<MetadefObject>> ListObjectsAsync(Caller caller, string name);

    /// <summary>One object.</summary>
    [ReadOnly, Alias("get-object")]
    Task<MetadefObject> GetObjectAsync(Caller caller, string name, string objectName);

    /// <summary>Adds an object (admins); its name must be new in the namespace.</summary>
    [Alias("create-object")]
    Task<MetadefObject> CreateObjectAsync(Caller caller, string name, MetadefObject draft);

    /// <summary>Replaces an object, possibly renaming it (admins).</summary>
    [Alias("update-object")]
    Task<MetadefObject> UpdateObjectAsync(Caller caller, string name, string objectName, MetadefObject update);

    /// <summary>Deletes an object (admins; not in a protected namespace).</summary>
    [Alias("delete-object")]
    Task DeleteObjectAsync(Caller caller, string name, string objectName);

    /// <summary>The namespace's properties, in creation order.</summary>
    [ReadOnly, Alias("list-properties")]
    Task<ImmutableArray<MetadefProperty>> ListPropertiesAsync(Caller caller, string name);

    /// <summary>
    /// One property. With <paramref name="resourceType"/>, <paramref name="propertyName"/> carries
    /// that association's prefix (<c>hw_cpu_cores</c> for <c>cpu_cores</c>).
    /// </summary>
    [ReadOnly, Alias("get-property")]
    Task<MetadefProperty> GetPropertyAsync(Caller caller, string name, string propertyName, string? resourceType);

    /// <summary>Adds a property (admins); its name must be new in the namespace.</summary>
    [Alias("create-property")]
    Task<MetadefProperty> CreatePropertyAsync(Caller caller, string name, MetadefProperty draft);

    /// <summary>Replaces a property, possibly renaming it (admins); this service's own attributes stay.</summary>
    [Alias("update-property")]
    Task<MetadefProperty> UpdatePropertyAsync(Caller caller, string name, string propertyName, MetadefProperty update);

    /// <summary>Deletes a property (admins; not in a protected namespace).</summary>
    [Alias("delete-property")]
    Task DeletePropertyAsync(Caller caller, string name, string propertyName);

    /// <summary>The namespace's tags in the query's order (newest first by default).</summary>
    [ReadOnly, Alias("list-tags")]
    Task<ImmutableArray<MetadefTag>> ListTagsAsync(Caller caller, string name, TagQuery query);

    /// <summary>One tag (exact name).</summary>
    [ReadOnly, Alias("get-tag")]
    Task<MetadefTag> GetTagAsync(Caller caller, string name, string tagName);

    /// <summary>Adds a tag (admins); its name must be new in the namespace, ignoring letter case.</summary>
    [Alias("create-tag")]
    Task<MetadefTag> CreateTagAsync(Caller caller, string name, string tagName);

    /// <summary>
    /// Adds several tags at once (admins), all or nothing: after the existing ones when
    /// <paramref name="append"/>, in their place otherwise. An empty list changes nothing.
    /// </summary>
    [Alias("create-tags")]
    Task<ImmutableArray<MetadefTag>> CreateTagsAsync(Caller caller, string name, ImmutableArray<string> tagNames, bool append);

    /// <summary>Renames a tag (admins).</summary>
    [Alias("update-tag")]
    Task<MetadefTag> UpdateTagAsync(Caller caller, string name, string tagName, string newName);

    /// <summary>Deletes a tag (admins; not in a protected namespace).</summary>
    [Alias("delete-tag")]
    Task DeleteTagAsync(Caller caller, string name, string tagName);

    /// <summary>The namespace's resource type associations, in creation order.</summary>
    [ReadOnly, Alias("list-associations")]
    Task<ImmutableArray<MetadefAssociation>> ListAssociationsAsync(Caller caller, string name);

    /// <summary>Associates the namespace with a resource type (admins), creating the type if it is new.</summary>
    [Alias("associate")]
    Task<MetadefAssociation> AssociateAsync(Caller caller, string name, MetadefAssociation association);

    /// <summary>Removes an association (admins; not in a protected namespace). The resource type stays.</summary>
    [Alias("dissociate")]
    Task DissociateAsync(Caller caller, string name, string resourceType);

    /// <summary>Every resource type, in creation order.</summary>
    [ReadOnly, Alias("list-resource-types")]
    Task<ImmutableArray<MetadefResourceType>> ListResourceTypesAsync(Caller caller);
}

/// <summary>Finding the one metadefs grain.</summary>
public static class MetadefsGrainExtensions
{
    /// <summary>The key of the single catalog grain (the same as the property definitions grain's).</summary>
    public const long CatalogKey = 0;

    /// <summary>The metadata definitions catalog.</summary>
    public static IMetadefsGrain Metadefs(this IGrainFactory grains) => grains.GetGrain<IMetadefsGrain>(CatalogKey);
}
