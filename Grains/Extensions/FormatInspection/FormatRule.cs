namespace Glance.Grains.Extensions.FormatInspection;

/// <summary>
/// Whether measured bytes may become an image of a declared disk_format: their content must be
/// that format (raw: no other format's header; an ISO counts as raw, byte for byte a disk) and
/// must not name other files. Formats the inspector does not read (ami, ari, aki, ploop) pass, and
/// so does empty data.
/// </summary>
public static class FormatRule
{
    /// <summary>The disk formats whose content is checked.</summary>
    public static readonly ImmutableHashSet<string> Inspected = ["raw", "qcow2", "vmdk", "vhd", "vhdx", "vdi", "iso"];

    /// <summary>Why <paramref name="data"/> may not be stored as <paramref name="diskFormat"/>; null when it may.</summary>
    public static string? Problem(string? diskFormat, UploadedData data) =>
        // No bytes name no file and claim no format: the openstack CLI uploads an empty stdin this way.
        data.Size == 0 ? null : Problem(diskFormat, data.Format, data.Unsafe);

    /// <summary>Why content of <paramref name="found"/> format (null: none recognised) may not be stored as <paramref name="diskFormat"/>.</summary>
    public static string? Problem(string? diskFormat, string? found, string? unsafeReason)
    {
        if (diskFormat is null || !Inspected.Contains(diskFormat))
        {
            return null;
        }
        if (found is not null && unsafeReason is not null)
        {
            return $"Image is not safe to use: {unsafeReason}.";
        }
        var matches = diskFormat == "raw" ? found is null or "iso" : found == diskFormat;
        return matches ? null
            : found is null ? $"Image content does not match disk_format {diskFormat}: no {diskFormat} header was found."
            : $"Image content does not match disk_format {diskFormat}: the data is {found}.";
    }
}
