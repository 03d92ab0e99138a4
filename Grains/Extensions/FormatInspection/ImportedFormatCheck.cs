namespace Glance.Grains.Extensions.FormatInspection;

/// <summary>The format rule for imported data (glance-direct, web-download): a failing import, as in Glance.</summary>
internal sealed class ImportedFormatCheck : IImportedDataCheck
{
    public string? Problem(string? diskFormat, UploadedData data) => FormatRule.Problem(diskFormat, data);
}
