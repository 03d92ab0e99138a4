using Glance.Grains.Properties;

namespace Glance.Grains.Metadefs;

/// <summary>
/// The one mapping between metadefs and the image property definitions catalog: a property
/// <c>p</c> of a <em>public</em> namespace associated with <c>OS::Glance::Image</c> (prefix
/// <c>x</c>) is the image property definition named <c>x + p</c>. Its type, enum, minimum,
/// maximum, pattern, maxLength and description are the definition's; the service's own
/// <see cref="MetadefProperty.Enforced"/> and <see cref="MetadefProperty.MatchesPrefix"/> say
/// whether it is a rule and whether it governs a name prefix. The other metadef attributes
/// (title, default, items, ...) only describe, and a definition written through
/// <c>/v2/property-definitions</c> keeps them. When two such namespaces define the same name,
/// the one whose namespace name sorts first (ordinal) is the definition.
/// </summary>
public static class ImageDefinitions
{
    /// <summary>The resource type of images.</summary>
    public const string ImageResourceType = "OS::Glance::Image";

    /// <summary>Where a definition written through <c>/v2/property-definitions</c> goes when no namespace has it yet.</summary>
    public const string DefaultNamespace = "OS::Glance::PropertyDefinitions";

    /// <summary>Where one image property definition comes from.</summary>
    /// <param name="Namespace">The namespace's name.</param>
    /// <param name="Property">The property's name in the namespace (without the prefix).</param>
    public sealed record Source(string Namespace, string Property);

    /// <summary>True when the namespace's properties are image property definitions; <paramref name="prefix"/> is their association's prefix.</summary>
    public static bool Defines(MetadefNamespace ns, out string prefix)
    {
        prefix = "";
        if (ns.Visibility != MetadefVisibility.Public)
        {
            return false;
        }
        foreach (var association in ns.ResourceTypes)
        {
            if (association.Name == ImageResourceType)
            {
                prefix = association.Prefix ?? "";
                return true;
            }
        }
        return false;
    }

    /// <summary>Every definition with where it comes from (the first source of each name), sorted by name.</summary>
    public static (PropertyDefinitionSet Set, ImmutableDictionary<string, Source> Sources) Build(IEnumerable<MetadefNamespace> namespaces)
    {
        var definitions = new List<PropertyDefinition>();
        var sources = ImmutableDictionary.CreateBuilder<string, Source>(StringComparer.Ordinal);
        foreach (var ns in namespaces.OrderBy(n => n.Namespace, StringComparer.Ordinal))
        {
            if (!Defines(ns, out var prefix))
            {
                continue;
            }
            foreach (var property in ns.Properties)
            {
                var name = prefix + property.Name;
                if (sources.ContainsKey(name) || From(name, property) is not { } definition)
                {
                    continue;
                }
                sources[name] = new Source(ns.Namespace, property.Name);
                definitions.Add(definition);
            }
        }
        definitions.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return (new PropertyDefinitionSet([.. definitions]), sources.ToImmutable());
    }

    /// <summary>
    /// The definition a metadef property is, or null when its name cannot be an additional image
    /// property (<c>name</c>, <c>os_glance_*</c>, white space...). Constraints Glance lets a
    /// metadef carry but a definition cannot (a pattern on an integer, a regular expression .NET
    /// does not read, a description too long) are left out: a metadef describes.
    /// </summary>
    public static PropertyDefinition? From(string name, MetadefProperty property)
    {
        var full = Strict(name, property);
        if (full.Problem() is null)
        {
            return full;
        }
        // Only what cannot be wrong; a rule that cannot be applied only describes.
        var plain = new PropertyDefinition
        {
            Name = name,
            Type = full.Type,
            IsPrefix = property.MatchesPrefix,
            Enforced = false,
            Description = property.Description is { Length: > PropertyDefinition.MaxDescriptionLength } text
                ? text[..PropertyDefinition.MaxDescriptionLength]
                : property.Description,
        };
        return plain.Problem() is null ? plain : null;
    }

    /// <summary>
    /// The definition as the metadef property states it, constraints that do not apply to its type
    /// left out; it may still have a <see cref="PropertyDefinition.Problem"/>.
    /// </summary>
    public static PropertyDefinition Strict(string name, MetadefProperty property)
    {
        var type = PropertyDefinition.TryParseType(property.Type, out var parsed) ? parsed : PropertyType.String;
        var numeric = type is PropertyType.Integer or PropertyType.Number;
        return new PropertyDefinition
        {
            Name = name,
            Type = type,
            IsPrefix = property.MatchesPrefix,
            Enforced = property.Enforced,
            Description = property.Description,
            Enum = property.Enum is { } values && (numeric || type == PropertyType.String) ? [.. values] : [],
            Minimum = numeric ? property.Minimum : null,
            Maximum = numeric ? property.Maximum : null,
            Pattern = type == PropertyType.String ? property.Pattern : null,
            MaxLength = type is PropertyType.String or PropertyType.Array or PropertyType.Object && property.MaxLength >= 1 ? property.MaxLength : null,
        };
    }

    /// <summary>
    /// The metadef property that is <paramref name="definition"/>: <paramref name="existing"/> with
    /// the definition's attributes replaced (title and the other descriptive attributes kept), or a
    /// new one titled with the definition's name.
    /// </summary>
    public static MetadefProperty Apply(MetadefProperty? existing, string propertyName, PropertyDefinition definition) =>
        (existing ?? new MetadefProperty { Name = propertyName, Title = definition.Name, NameInSchema = true }) with
        {
            Type = PropertyDefinition.WireName(definition.Type),
            Description = definition.Description,
            Enum = definition.Enum.IsDefaultOrEmpty ? null : [.. definition.Enum],
            Minimum = definition.Minimum,
            Maximum = definition.Maximum,
            Pattern = definition.Pattern,
            MaxLength = definition.MaxLength,
            Enforced = definition.Enforced,
            MatchesPrefix = definition.IsPrefix,
        };
}
