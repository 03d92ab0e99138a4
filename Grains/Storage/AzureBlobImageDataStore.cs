using Azure;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace Glance.Grains.Storage;

/// <summary>
/// Image bytes as block blobs in one Azure Storage container (Azurite locally). A write stages
/// fixed-size blocks, a few in parallel, and commits the block list at the end: the blob exists
/// only from that commit on, so a failed or cancelled upload leaves nothing under the key (its
/// uncommitted blocks are invisible and the service discards them). Memory per upload is bounded
/// by the block size times the concurrency, whatever the image size.
/// </summary>
public sealed class AzureBlobImageDataStore : IImageDataStore
{
    /// <summary>Default block size of an upload.</summary>
    public const int DefaultBlockSize = 8 << 20;

    /// <summary>Default number of blocks one upload sends in parallel.</summary>
    public const int DefaultConcurrency = 4;

    // Marks which upload committed a blob, so a write that fails after its commit went through
    // (a cancellation racing the commit response) removes its own blob and nobody else's.
    private const string UploadIdMetadata = "glanceuploadid";

    private readonly BlobContainerClient _container;
    private readonly StorageTransferOptions _transfer;
    private volatile bool _containerReady;

    /// <summary>A store on <paramref name="container"/>, created on the first write if missing.</summary>
    /// <param name="container">The container holding the blobs.</param>
    /// <param name="blockSize">Bytes per staged block, also the most an upload buffers per block in flight.</param>
    /// <param name="concurrency">Blocks staged in parallel by one upload.</param>
    public AzureBlobImageDataStore(BlobContainerClient container, int blockSize = DefaultBlockSize, int concurrency = DefaultConcurrency)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        _container = container;
        _transfer = new StorageTransferOptions
        {
            // A stream of unknown length is buffered up to InitialTransferSize in the hope of a
            // single-request upload: pin that to one block too, whatever the SDK's default.
            InitialTransferSize = blockSize,
            MaximumTransferSize = blockSize,
            MaximumConcurrency = concurrency,
        };
    }

    /// <summary>A store on container <paramref name="containerName"/> of the account in <paramref name="connectionString"/>.</summary>
    public static AzureBlobImageDataStore FromConnectionString(string connectionString, string containerName, BlobClientOptions? options = null) =>
        new(new BlobContainerClient(connectionString, containerName, options ?? CreateClientOptions()));

    /// <summary>
    /// The store <c>Glance:ImageData</c> describes (<see cref="ImageDataOptions.AzureConnectionString"/>,
    /// <see cref="ImageDataOptions.AzureContainer"/>). Throws <see cref="InvalidOperationException"/>
    /// naming the setting when one is missing or malformed; never echoes the connection string.
    /// </summary>
    public static AzureBlobImageDataStore FromOptions(ImageDataOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.AzureConnectionString))
        {
            throw new InvalidOperationException(
                $"{ImageDataOptions.Section}:AzureConnectionString is required when {ImageDataOptions.Section}:Store is '{ImageDataOptions.AzureStore}' (UseDevelopmentStorage=true for Azurite on its default ports).");
        }
        if (!IsValidContainerName(options.AzureContainer))
        {
            throw new InvalidOperationException(
                $"{ImageDataOptions.Section}:AzureContainer '{options.AzureContainer}' is not a valid container name (3-63 lower-case letters, digits and single hyphens).");
        }
        try
        {
            return FromConnectionString(options.AzureConnectionString, options.AzureContainer, Hosting.AzureCluster.Bounded(CreateClientOptions()));
        }
        catch (FormatException exception)
        {
            throw new InvalidOperationException(
                $"{ImageDataOptions.Section}:AzureConnectionString is not a valid Azure Storage connection string.", exception);
        }
    }

    /// <summary>
    /// Client options with the service version pinned to one Azurite 3.37 accepts (the SDK's
    /// newest is rejected by an Azurite started without <c>--skipApiVersionCheck</c>).
    /// </summary>
    public static BlobClientOptions CreateClientOptions() => new(BlobClientOptions.ServiceVersion.V2026_06_06);

    /// <summary>
    /// True for a valid blob container name: 3 to 63 lower-case letters, digits and hyphens,
    /// starting and ending with a letter or digit, no two hyphens in a row.
    /// </summary>
    public static bool IsValidContainerName(string? name) =>
        name is { Length: >= 3 and <= 63 }
        && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')
        && name[0] != '-' && name[^1] != '-' && !name.Contains("--", StringComparison.Ordinal);

    /// <inheritdoc />
    public string Id => ImageDataOptions.AzureStore;

    /// <summary>The container holding the blobs.</summary>
    public BlobContainerClient Container => _container;

    /// <inheritdoc />
    public async Task<long> WriteAsync(string key, Stream source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        var blob = _container.GetBlockBlobClient(Validate(key));
        await EnsureContainerAsync(cancellationToken);
        var uploadId = Guid.NewGuid().ToString("N");
        var counted = new CountingReadStream(source);
        var options = new BlobUploadOptions
        {
            TransferOptions = _transfer,
            // Written once: never replace a blob, as the file store never replaces a file.
            Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
            Metadata = new Dictionary<string, string> { [UploadIdMetadata] = uploadId },
        };
        try
        {
            await blob.UploadAsync(counted, options, cancellationToken);
            return counted.BytesRead;
        }
        catch (RequestFailedException exception) when (IsAlreadyExists(exception))
        {
            throw new IOException($"Image data '{key}' already exists.", exception);
        }
        catch (Exception exception)
        {
            await RemoveOwnCommitAsync(blob, uploadId);
            // A bare IOException is the source's (a client's body that broke off): the SDK reports
            // its own failures, after its tries, as RequestFailedException or AggregateException.
            if (StorageUnavailableException.IsOutage(exception, cancellationToken) && exception is not IOException)
            {
                throw new StorageUnavailableException(key, exception);
            }
            throw;
        }
    }

    /// <inheritdoc />
    public async Task<Stream> OpenReadAsync(string key, long offset, long? length, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length is { } count)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(count, nameof(length));
        }
        var blob = _container.GetBlobClient(Validate(key));
        try
        {
            if (length == 0)
            {
                // An empty range is not expressible as an HTTP range; still report a missing blob.
                await blob.GetPropertiesAsync(cancellationToken: cancellationToken);
                return Stream.Null;
            }
            var download = await blob.DownloadStreamingAsync(
                new BlobDownloadOptions { Range = new HttpRange(offset, length) }, cancellationToken);
            return download.Value.Content;
        }
        catch (RequestFailedException exception) when (exception.Status == 404)
        {
            throw new FileNotFoundException($"No image data under '{key}'.", key, exception);
        }
        catch (RequestFailedException exception) when (exception.Status == 416)
        {
            // The range starts at or past the end (or the blob is empty): nothing to read, as a
            // file positioned past its end reads nothing.
            return Stream.Null;
        }
        catch (Exception exception) when (StorageUnavailableException.IsOutage(exception, cancellationToken))
        {
            throw new StorageUnavailableException(key, exception);
        }
    }

    /// <inheritdoc />
    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        var blob = _container.GetBlobClient(Validate(key));
        try
        {
            await blob.DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken);
        }
        catch (RequestFailedException exception) when (exception.Status == 404)
        {
            // No container yet: nothing to delete.
        }
        catch (Exception exception) when (StorageUnavailableException.IsOutage(exception, cancellationToken))
        {
            throw new StorageUnavailableException(key, exception);
        }
    }

    /// <inheritdoc />
    public async Task CopyAsync(string source, string target, CancellationToken cancellationToken)
    {
        var from = _container.GetBlobClient(Validate(source));
        var to = _container.GetBlobClient(Validate(target));
        await EnsureContainerAsync(cancellationToken);
        CopyFromUriOperation copy;
        try
        {
            // Server-side: within one account the service copies without the bytes passing through here.
            copy = await to.StartCopyFromUriAsync(from.Uri, new BlobCopyFromUriOptions
            {
                DestinationConditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
            }, cancellationToken);
        }
        catch (RequestFailedException exception) when (exception.Status == 404)
        {
            throw new FileNotFoundException($"No image data under '{source}'.", source, exception);
        }
        catch (RequestFailedException exception) when (IsAlreadyExists(exception))
        {
            throw new IOException($"Image data '{target}' already exists.", exception);
        }
        catch (Exception exception) when (StorageUnavailableException.IsOutage(exception, cancellationToken))
        {
            throw new StorageUnavailableException(target, exception);
        }
        try
        {
            await copy.WaitForCompletionAsync(cancellationToken);
            var properties = await to.GetPropertiesAsync(cancellationToken: cancellationToken);
            if (properties.Value.CopyStatus != CopyStatus.Success)
            {
                throw new IOException($"Copying image data '{source}' to '{target}' ended {properties.Value.CopyStatus}: {properties.Value.CopyStatusDescription}");
            }
        }
        catch (Exception exception)
        {
            // A cancelled or failed copy leaves nothing under the target.
            await IgnoreFailureAsync(() => to.AbortCopyFromUriAsync(copy.Id, cancellationToken: CancellationToken.None));
            await IgnoreFailureAsync(() => to.DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: CancellationToken.None));
            if (StorageUnavailableException.IsOutage(exception, cancellationToken))
            {
                throw new StorageUnavailableException(target, exception);
            }
            throw;
        }
    }

    /// <inheritdoc />
    public async Task<bool> ExistsAsync(string key, CancellationToken cancellationToken)
    {
        var blob = _container.GetBlobClient(Validate(key));
        try
        {
            var properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken)).Value;
            // The target of a copy exists from the start of the copy; it is complete only at its end.
            return string.IsNullOrEmpty(properties.CopyId) || properties.CopyStatus == CopyStatus.Success;
        }
        catch (RequestFailedException exception) when (exception.Status == 404)
        {
            return false;
        }
        catch (Exception exception) when (StorageUnavailableException.IsOutage(exception, cancellationToken))
        {
            throw new StorageUnavailableException(key, exception);
        }
    }

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (_containerReady)
        {
            return;
        }
        // Idempotent, so concurrent first writes may both call it.
        try
        {
            await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        }
        catch (Exception exception) when (StorageUnavailableException.IsOutage(exception, cancellationToken))
        {
            throw new StorageUnavailableException(_container.Name, exception);
        }
        _containerReady = true;
    }

    // Bounds the check after a failed write: when the store does not answer, the write has already
    // spent its tries, and the caller's clean-up covers what this would have removed.
    private static readonly TimeSpan OwnCommitCheck = TimeSpan.FromSeconds(5);

    private static async Task RemoveOwnCommitAsync(BlockBlobClient blob, string uploadId)
    {
        using var bound = new CancellationTokenSource(OwnCommitCheck);
        try
        {
            var properties = (await blob.GetPropertiesAsync(cancellationToken: bound.Token)).Value;
            if (properties.Metadata.TryGetValue(UploadIdMetadata, out var committedBy) && committedBy == uploadId)
            {
                await blob.DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots,
                    new BlobRequestConditions { IfMatch = properties.ETag }, bound.Token);
            }
        }
        catch (Exception exception) when (exception is RequestFailedException or OperationCanceledException)
        {
            // Nothing was committed (the usual case), or the store is unreachable: the caller's
            // own clean-up (deleting the key of a failed upload) covers the rest.
        }
    }

    private static async Task IgnoreFailureAsync(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (RequestFailedException)
        {
        }
    }

    // If-None-Match: * on an existing blob is 409 BlobAlreadyExists (Azure) or 412 (some emulators).
    private static bool IsAlreadyExists(RequestFailedException exception) =>
        exception.Status == 412 || exception.ErrorCode == BlobErrorCode.BlobAlreadyExists;

    // The same rule as the file store: keys are generated by the grains, never taken from a request.
    private static string Validate(string key) =>
        key.Length > 0 && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_') && !key.StartsWith('.')
            ? key
            : throw new ArgumentException($"Invalid data key '{key}'.", nameof(key));

    /// <summary>Passes reads through and counts the bytes; hides seeking so the SDK streams it block by block.</summary>
    private sealed class CountingReadStream(Stream inner) : ReadOnlyStream
    {
        public long BytesRead { get; private set; }

        public override long Position { get => BytesRead; }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var read = inner.Read(buffer);
            BytesRead += read;
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken);
            BytesRead += read;
            return read;
        }
    }
}
