using System.Text.RegularExpressions;

namespace Glance.Grains.Images;

/// <summary>
/// Constraints on well-known additional properties, as Glance ships them in its
/// <c>schema-image.json</c> (kernel_id must be a UUID, ...). The image grain enforces them
/// and the HTTP schema advertises them, so clients validate the same way the service does.
/// </summary>
public static class PropertySchema
{
    /// <summary>One property's constraint.</summary>
    /// <param name="Name">Property name.</param>
    /// <param name="Description">What it means.</param>
    /// <param name="Nullable">Whether JSON null is accepted.</param>
    /// <param name="Pattern">A regular expression the value must match, if any.</param>
    /// <param name="Enum">The allowed values, if restricted.</param>
    public sealed record Rule(string Name, string Description, bool Nullable = false, string? Pattern = null,
        ImmutableArray<string> Enum = default);

    private const string UuidPattern =
        "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$";

    /// <summary>The built-in rules, keyed by property name.</summary>
    public static readonly ImmutableDictionary<string, Rule> Rules = new Rule[]
    {
        new("kernel_id", "ID of image stored in Glance that should be used as the kernel when booting an AMI-style image.", Nullable: true, Pattern: UuidPattern),
        new("ramdisk_id", "ID of image stored in Glance that should be used as the ramdisk when booting an AMI-style image.", Nullable: true, Pattern: UuidPattern),
        new("instance_uuid", "Metadata which can be used to record which instance this image is associated with. (Informational only, does not create an instance snapshot.)"),
        new("architecture", "Operating system architecture as specified in https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html"),
        new("os_distro", "Common name of operating system distribution as specified in https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html"),
        new("os_version", "Operating system version as specified by the distributor."),
        new("description", "A human-readable string describing this image."),
        new("cinder_encryption_key_id", "Identifier in the OpenStack Key Management Service for the encryption key for the Block Storage Service to use when mounting a volume created from this image"),
        new("cinder_encryption_key_deletion_policy", "States the condition under which the Image Service will delete the object associated with the 'cinder_encryption_key_id' image property.  If this property is missing, the Image Service will take no action", Enum: ["on_image_deletion", "do_not_delete"]),
    }.ToImmutableDictionary(r => r.Name);

    /// <summary>
    /// Why <paramref name="value"/> is not acceptable for <paramref name="name"/>, or null when it is.
    /// A null value is a JSON null.
    /// </summary>
    public static string? Violation(string name, string? value)
    {
        if (!Rules.TryGetValue(name, out var rule))
        {
            return value is null ? $"None is not of type 'string' in '{name}'" : null;
        }
        if (value is null)
        {
            return rule.Nullable ? null : $"None is not of type 'string' in '{name}'";
        }
        if (rule.Pattern is not null && !Regex.IsMatch(value, rule.Pattern))
        {
            return $"'{value}' does not match '{rule.Pattern}' in '{name}'";
        }
        if (!rule.Enum.IsDefault && !rule.Enum.Contains(value))
        {
            return $"'{value}' is not one of [{string.Join(", ", rule.Enum.Select(e => $"'{e}'"))}] in '{name}'";
        }
        return null;
    }
}
