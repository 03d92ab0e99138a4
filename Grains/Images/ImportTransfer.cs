using System.Globalization;
using Glance.Grains.Storage;
using Glance.Grains.Tasks;
using Microsoft.Extensions.Options;

namespace Glance.Grains.Images;

/// <summary>
/// Moves an import's bytes into the image data store: a staged blob (glance-direct) or a URL
/// (web-download, redirects checked against the <see cref="WebDownloadFilter"/> at every hop),
/// measured as they go. Runs on the thread pool for the image grain, which keeps the state
/// transitions; the bytes never pass through a grain call.
/// </summary>
public sealed class ImportTransfer(
    IImageDataStore dataStore,
    IOptions<ImportOptions> importOptions,
    IHttpClientFactory httpClients,
    WebDownloadFilter webDownloadFilter)
{
    private const int MaxRedirects = 5;

    /// <summary>The import settings (methods offered, limits).</summary>
    public ImportOptions Options => importOptions.Value;

    /// <summary>The URI a web-download may start from (scheme, host and port allowed), or null (see <see cref="WebDownloadFilter.Check"/>).</summary>
    public Uri? Allowed(string? uri) => webDownloadFilter.Check(uri);

    /// <summary>Moves the bytes into <see cref="PendingImport.DataKey"/>; on failure nothing is left there.</summary>
    public async Task<UploadedData> RunAsync(PendingImport import, ImportProgress progress, CancellationToken cancellation)
    {
        try
        {
            if (import.Method == ImportMethods.GlanceDirect)
            {
                var source = import.SourceKey ?? throw new InvalidOperationException("No staged data to import.");
                var staged = import.Staged ?? throw new InvalidOperationException("No measurements of the staged data.");
                await dataStore.CopyAsync(source, import.DataKey, cancellation);
                await dataStore.DeleteAsync(source, CancellationToken.None);
                // Size, hashes and header were measured when the data was staged.
                return staged;
            }
            return await DownloadAsync(import, progress, cancellation);
        }
        catch
        {
            await dataStore.DeleteAsync(import.DataKey, CancellationToken.None);
            throw;
        }
    }

    private async Task<UploadedData> DownloadAsync(PendingImport import, ImportProgress progress, CancellationToken cancellation)
    {
        var options = importOptions.Value;
        var http = httpClients.CreateClient(WebDownloadFilter.HttpClientName);
        http.Timeout = options.WebDownloadTimeout;
        var current = webDownloadFilter.Check(import.Uri) ?? throw new ImportFailedException($"URI does not pass filtering: {import.Uri}");
        for (var hop = 0; ; hop++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, current);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellation);
            var status = (int)response.StatusCode;
            if (status is >= 300 and < 400 && response.Headers.Location is { } location)
            {
                if (hop >= MaxRedirects)
                {
                    throw new ImportFailedException($"Too many redirects fetching {import.Uri}.");
                }
                var next = location.IsAbsoluteUri ? location : new Uri(current, location);
                current = webDownloadFilter.Check(next.AbsoluteUri)
                    ?? throw new ImportFailedException($"URI does not pass filtering: {next.AbsoluteUri}");
                continue;
            }
            if (!response.IsSuccessStatusCode)
            {
                throw new ImportFailedException($"HTTP Error {status}: {response.ReasonPhrase}");
            }
            var expected = response.Content.Headers.ContentLength;
            if (expected > import.MaxBytes)
            {
                throw GlanceException.TooLarge($"Image exceeds the storage limit of {import.MaxBytes} bytes.");
            }
            await using var body = await response.Content.ReadAsStreamAsync(cancellation);
            using var measuring = new HashingReadStream(body, import.MaxBytes, options.WebDownloadTimeout);
            progress.Total = expected;
            progress.Source = measuring;
            await dataStore.WriteAsync(import.DataKey, measuring, cancellation);
            var data = await measuring.ResultAsync();
            if (expected is { } length && length != data.Size)
            {
                throw new ImportFailedException(
                    $"Task {import.TaskId} failed because downloaded data size {data.Size} is different from expected {length}");
            }
            return data;
        }
    }

    /// <summary>The task's message for a failed transfer.</summary>
    public static string Describe(Exception exception) => exception switch
    {
        ImportFailedException or GlanceException or TimeoutException => exception.Message,
        FileNotFoundException => "The staged data could not be found.",
        HttpRequestException http => $"Error fetching the image data: {http.Message}",
        TaskCanceledException => "Timed out waiting for the server to answer.",
        _ => string.Create(CultureInfo.InvariantCulture, $"Error: {exception.GetType().Name}: {exception.Message}"),
    };

    /// <summary>A failure with a message fit for the task.</summary>
    private sealed class ImportFailedException(string message) : Exception(message);
}
