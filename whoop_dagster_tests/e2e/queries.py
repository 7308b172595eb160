"""The GraphQL documents the end-to-end test sends (field names as in dagster-graphql 1.13's schema)."""

ASSET_NODES = """
query AssetNodes {
  assetNodes {
    assetKey { path }
    groupName
    kinds
    description
    isPartitioned
    isAutoCreatedStub
    owners {
      __typename
      ... on UserAssetOwner { email }
      ... on TeamAssetOwner { team }
    }
    assetChecksOrError {
      __typename
      ... on AssetChecks { checks { name } }
    }
    internalFreshnessPolicy { __typename }
    freshnessStatusInfo { freshnessStatus }
    partitionStats { numMaterialized numMaterializing numFailed numPartitions }
    assetMaterializations(limit: 1) { runId timestamp }
  }
}
"""

INSTIGATORS = """
query Instigators {
  repositoriesOrError {
    __typename
    ... on RepositoryConnection {
      nodes {
        name
        location { name }
        sensors { name sensorState { status } }
        schedules { name scheduleState { status } }
      }
    }
    ... on PythonError { message }
  }
}
"""

LATEST_RUN_OF_JOB = """
query LatestRunOfJob($job: String!) {
  runsOrError(filter: {pipelineName: $job}, limit: 1) {
    __typename
    ... on Runs {
      results {
        runId
        status
        tags { key value }
        assetMaterializations { assetKey { path } partition }
      }
    }
    ... on PythonError { message }
  }
}
"""

RUN_CHECK_EVALUATIONS = """
query RunCheckEvaluations($runId: ID!, $cursor: String) {
  logsForRun(runId: $runId, afterCursor: $cursor, limit: 2000) {
    __typename
    ... on EventConnection {
      cursor
      hasMore
      events {
        __typename
        ... on AssetCheckEvaluationEvent {
          evaluation { assetKey { path } checkName success severity }
        }
      }
    }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
}
"""

LATEST_MATERIALIZATION_BY_PARTITION = """
query LatestMaterializationByPartition($key: AssetKeyInput!, $partitions: [String!]) {
  assetNodeOrError(assetKey: $key) {
    __typename
    ... on AssetNode {
      latestMaterializationByPartition(partitions: $partitions) { partition runId }
    }
  }
}
"""

LAUNCH_PARTITION_BACKFILL = """
mutation LaunchPartitionBackfill($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PartitionKeysNotFoundError { message }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}
"""

PARTITION_BACKFILL = """
query PartitionBackfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      status
      numPartitions
      error { message }
    }
    ... on BackfillNotFoundError { message }
    ... on PythonError { message }
  }
}
"""

RUNS_WITH_TAG = """
query RunsWithTag($key: String!, $value: String!) {
  runsOrError(filter: {tags: [{key: $key, value: $value}]}) {
    __typename
    ... on Runs {
      results {
        runId
        status
        tags { key value }
        assetMaterializations { assetKey { path } partition }
      }
    }
    ... on PythonError { message }
  }
}
"""

IN_FLIGHT_RUNS = """
query InFlightRuns($statuses: [RunStatus!]) {
  runsOrError(filter: {statuses: $statuses}) {
    __typename
    ... on Runs { results { runId jobName status } }
  }
}
"""

TERMINATE_RUNS = """
mutation TerminateRuns($runIds: [String!]!) {
  terminateRuns(runIds: $runIds, terminatePolicy: SAFE_TERMINATE) {
    __typename
    ... on TerminateRunsResult {
      terminateRunResults {
        __typename
        ... on TerminateRunFailure { message }
        ... on RunNotFoundError { message }
        ... on PythonError { message }
      }
    }
    ... on PythonError { message }
  }
}
"""

CANCEL_BACKFILL = """
mutation CancelBackfill($id: String!) {
  cancelPartitionBackfill(backfillId: $id) {
    __typename
    ... on CancelBackfillSuccess { backfillId }
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}
"""
